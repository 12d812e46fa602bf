"""Latency of `dataraum serve` on the example: p50/p99 of the status and entropy routes under
20 concurrent clients on localhost (target p99 < 50 ms), the dashboard's first load in
headless Chromium (target < 1 s) and the compressed size of its bundle (target < 300 KB).

    python bench/bench_api.py [--root DIR] [--clients 20] [--requests 50]

Needs a project whose example has run (`doit -n 4` in the repository, the default root) and,
for the first load, Debian's chromium with Playwright for Python; prints a table."""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "phases" / "interfaces" / "server" / "static"
SOURCE = "finance_example"
ROUTES = {
    "status": f"/api/sources/{SOURCE}/status",
    "entropy": f"/api/sources/{SOURCE}/entropy",
    "column": f"/api/sources/{SOURCE}/entropy/master_txn_table/Amount",
}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(root: Path, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-m", "phases", "serve", "--port", str(port)], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "DATARAUM_TOKEN": "bench-token-0123456789"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=2)
            return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("the server did not start within 60 s")


def load(port: int, path: str, clients: int, requests: int) -> list[float]:
    """`clients` threads, each with its own keep-alive connection, `requests` GETs each; seconds per request."""
    timings: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        barrier.wait()
        for _ in range(requests):
            began = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - began)
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status}")
        connection.close()
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def first_load(port: int) -> tuple[float, float] | None:
    """Seconds from navigation to the heat map drawn, with a cold and a warm browser cache."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    found = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        for _ in range(2):
            began = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/#/entropy/{SOURCE}")
            page.locator("[data-testid=heat-cell]").first.wait_for(timeout=30_000)
            found.append(time.perf_counter() - began)
            page.goto("about:blank")
        browser.close()
    return found[0], found[1]


def bundle_bytes() -> tuple[int, int]:
    files = [STATIC / "index.html", *sorted((STATIC / "assets").iterdir())]
    raw = sum(f.stat().st_size for f in files)
    return raw, sum(len(gzip.compress(f.read_bytes(), 9)) for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50, help="per client and route")
    args = parser.parse_args()
    if not (args.root / "state" / SOURCE / "entropy" / "entropy_scores.json").is_file():
        raise SystemExit(f"{args.root}: the example has not run; run `doit -n 4` there first")
    port = free_port()
    server = start(args.root, port)
    try:
        rows = []
        for name, path in ROUTES.items():
            began = time.perf_counter()
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120).read()  # fills the cache
            cold = time.perf_counter() - began
            timings = load(port, path, args.clients, args.requests)
            rows.append((name, cold, statistics.median(timings), percentile(timings, 0.99), len(timings)))
        loaded = first_load(port)
    finally:
        server.terminate()
        server.wait(timeout=30)
    raw, packed = bundle_bytes()
    print(f"{'route':<9} {'first (s)':>9} {'p50 (ms)':>9} {'p99 (ms)':>9} {'requests':>9}   {args.clients} clients")
    for name, cold, p50, p99, count in rows:
        print(f"{name:<9} {cold:>9.2f} {p50 * 1000:>9.1f} {p99 * 1000:>9.1f} {count:>9}")
    if loaded:
        print(f"dashboard first load: {loaded[0]:.2f} s (cold cache), {loaded[1]:.2f} s (warm)   target < 1 s")
    else:
        print("dashboard first load: not measured (needs playwright and chromium)")
    print(f"bundle: {raw / 1024:.0f} KB, {packed / 1024:.0f} KB gzip   target < 300 KB")


if __name__ == "__main__":
    main()
