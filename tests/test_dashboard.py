"""The dashboard end to end: `dataraum serve` as a subprocess on a fresh copy of the example,
driven in real headless Chromium (Debian's package, through Playwright's executable_path):
trigger the first run with the token and watch every task turn done, then see the example's
blocked columns in the heat map and open a column's findings. Screenshots of each view go to
the test's temporary folder (printed at the end)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags that keep Chromium from reaching for the network at start (the machines have none).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "dashboard-test-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("dashboard") / "project"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    shutil.copytree(REPO / "examples" / "finance_example", root / "examples" / "finance_example")
    port = free_port()
    log = (root.parent / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "phases", "serve", "--port", str(port), "-j", "2"], cwd=root, stdout=log,
        stderr=subprocess.STDOUT, env={**os.environ, "DATARAUM_TOKEN": TOKEN},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/info", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError((root.parent / "serve.log").read_text()) from None
                time.sleep(0.3)
        yield url, root.parent
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_a_run_from_the_dashboard_then_the_heat_map_and_a_columns_findings(served, browser):
    from playwright.sync_api import expect

    url, shots = served
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    nav = page.get_by_role("navigation", name="Views")
    page.goto(f"{url}/")
    page.get_by_role("heading", name="finance_example").wait_for()
    assert page.get_by_text("not scored").is_visible()  # nothing has run yet
    page.screenshot(path=shots / "1-sources-before.png", full_page=True)

    # the pipeline view: every task never run; a run needs the token
    nav.get_by_role("link", name="Pipeline").click()
    page.locator("[data-testid=task-row]").first.wait_for()
    assert page.locator("[data-testid=task-row][data-state='never run']").count() == 35
    page.get_by_role("button", name="Run", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Token").fill(TOKEN)
    dialog.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator("[data-testid=task-row][data-state=running]").first.wait_for(timeout=60_000)
    page.locator("[data-testid=task-row][data-state=done]").first.wait_for(timeout=120_000)
    page.screenshot(path=shots / "2-pipeline-running.png", full_page=True)
    # (the page's Content-Security-Policy forbids eval, so no wait_for_function)
    expect(page.locator("[data-testid=task-row][data-state=done]")).to_have_count(35, timeout=900_000)
    page.get_by_text("finished in").wait_for()
    page.get_by_text("35 done").wait_for()  # the status judged again after the run
    assert page.get_by_role("button", name="Run", exact=True).is_enabled()
    page.locator("[data-testid=phase-node][data-phase=entropy][data-state=done]").wait_for()
    # the whole graph fits a 1366 px laptop screen: the last phase is drawn inside the window
    last = page.locator("[data-testid=phase-node][data-phase=context]").bounding_box()
    assert last is not None and last["x"] + last["width"] <= 1366
    page.screenshot(path=shots / "3-pipeline-done.png", full_page=True)

    # the entropy dashboard: the planted outliers block Amount and Debit
    nav.get_by_role("link", name="Entropy").click()
    blocked = page.locator("[data-testid=heat-cell][data-readiness=blocked]")
    blocked.first.wait_for()
    names = sorted(blocked.locator(".name").all_inner_texts())
    assert names == ["Amount", "Debit"]
    page.screenshot(path=shots / "4-entropy.png", full_page=True)

    page.get_by_role("button", name="master_txn_table.Amount: entropy").click()
    drawer = page.get_by_role("dialog", name="master_txn_table.Amount")
    drawer.locator("[data-testid=finding]").first.wait_for()
    assert "987654.32" in drawer.inner_text()  # the planted outlier, in the outliers finding
    assert 'master_txn_table."Amount"' in drawer.inner_text()  # the SQL to use
    page.screenshot(path=shots / "5-column-findings.png")
    page.keyboard.press("Escape")
    assert drawer.count() == 0

    # the metrics: no account type in the ledger refuses revenue; the planted outlier in Debit refuses balances
    nav.get_by_role("link", name="Metrics").click()
    page.locator("[data-testid=metric-row][data-metric=revenue][data-verdict=refuse]").wait_for()
    assert "cannot compute: concept account_type missing" in page.locator(
        "[data-testid=metric-row][data-metric=revenue]").inner_text()
    page.get_by_role("button", name="Details").first.click()
    assert "SELECT" in page.locator("pre").first.inner_text()  # the SQL that was run, to rerun
    page.screenshot(path=shots / "5b-metrics.png", full_page=True)
    nav.get_by_role("link", name="Entropy").click()
    blocked.first.wait_for()

    # the least trustworthy columns filtered by readiness, with the keyboard
    page.get_by_role("combobox", name="Readiness").select_option("blocked")
    assert page.get_by_text("2 of 42 columns").is_visible()

    nav.get_by_role("link", name="Sources").click()
    page.get_by_text("2 blocked").wait_for()
    page.screenshot(path=shots / "6-sources-after.png", full_page=True)

    page.set_viewport_size({"width": 420, "height": 860})
    nav.get_by_role("link", name="Entropy").click()
    blocked.first.wait_for()
    page.screenshot(path=shots / "7-entropy-narrow.png")
    assert errors == []
    print(f"screenshots in {shots}")
