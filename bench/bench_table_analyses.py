"""Time the per-table analyses on a generated typed table: DuckDB's SUMMARIZE against the
statistics phase, then statistics + statistical_quality (+ temporal, when phases.profile.temporal is
there), at 1 and 2 DuckDB threads and at two table sizes, with each phase's peak memory.

    python bench/bench_table_analyses.py [--rows 1000000 250000] [--repeat 3] [--keep DIR]

Each measurement runs in a fresh Python process, as the pipeline runs each task, so its peak
RSS (getrusage) belongs to that phase alone; seconds exclude interpreter start-up and are the
best of --repeat runs (other work on the machine only ever adds time). Prints a table.
Needs nothing outside the repository."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from phases.artifacts.column_profiles import COLUMN_PROFILES

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# semantic type of each generated column, as the typing phase would write it
TYPES = {
    "order_id": "integer", "customer_id": "integer", "amount": "currency", "quantity": "integer",
    "unit_price": "currency", "discount": "percent", "order_date": "date", "ship_date": "date",
    "status": "text", "country": "text", "city": "text", "email": "text", "sku": "text", "comment": "text",
    "currency": "text", "score": "decimal", "balance": "currency", "invoice_no": "text", "region_code": "integer",
    "age": "integer",
}

GENERATE = """
COPY (
  SELECT range + 1 AS _row_id,
    range + 1 AS order_id,                                                 -- unique key
    (hash(range) % 50000)::BIGINT + 1 AS customer_id,                      -- foreign key, 50k values
    round(exp(3 + 1.5 * sqrt(-2 * ln(random() + 1e-12)) * cos(2 * pi() * random())), 2) AS amount,  -- log-normal
    (1 + floor(random() * 100))::BIGINT AS quantity,
    round(5 + random() * 495, 2) AS unit_price,
    CASE WHEN random() < 0.6 THEN 0.0 ELSE round(random() * 0.3, 2) END AS discount,
    DATE '2021-01-01' + (random() * 1095)::INTEGER AS order_date,
    DATE '2021-01-01' + (random() * 1100)::INTEGER AS ship_date,
    ['paid', 'open', 'void', 'refunded', 'pending'][1 + (random() * 4.99)::INTEGER] AS status,
    'country_' || (random() * 49)::INTEGER AS country,
    'City ' || (random() * 1999)::INTEGER AS city,
    'user' || (hash(range * 7) % 800000) || '@example.com' AS email,      -- ~800k distinct
    chr(65 + (random() * 25)::INTEGER) || chr(65 + (random() * 25)::INTEGER) || '-'
      || lpad(((random() * 9999)::INTEGER)::VARCHAR, 4, '0') AS sku,
    CASE WHEN random() < 0.3 THEN NULL ELSE 'note ' || md5(range::VARCHAR)[1:(5 + (random() * 20)::INTEGER)] END
      AS comment,
    ['USD', 'EUR', 'GBP'][1 + (random() * 2.99)::INTEGER] AS currency,
    round(random() + random() + random() + random() - 2, 6) AS score,
    round((random() - 0.3) * 100000, 2) AS balance,
    'INV-' || lpad((range + 1)::VARCHAR, 8, '0') AS invoice_no,           -- unique text key
    (random() * 9)::BIGINT AS region_code,
    CASE WHEN random() < 0.01 THEN -1 ELSE (random() * 90)::BIGINT + 18 END AS age  -- with a -1 sentinel
  FROM range({rows})
) TO '{path}' (FORMAT parquet)
"""


def connect(threads: int, folder: Path):
    import duckdb

    return duckdb.connect(config={"threads": threads, "memory_limit": "2GB",
                                  "temp_directory": str(folder / ".duckdb_tmp")})


# --- what one child process measures --------------------------------------------------------


def run_summarize(con, parquet: Path, folder: Path) -> None:
    con.execute(f"SUMMARIZE SELECT * EXCLUDE (_row_id) FROM read_parquet('{parquet}')").fetchall()


def run_statistics(con, parquet: Path, folder: Path) -> None:
    from phases.core.records import dump_json
    from phases.profile.statistics import StatisticsSettings, TypeInfo, profile_parquet

    types = {name: TypeInfo(type=kind) for name, kind in TYPES.items()}
    profiles, table = profile_parquet(con, str(parquet), "bench", types, StatisticsSettings())
    dump_json(folder / "column_profiles.json", profiles)
    dump_json(folder / "table_profile.json", table)


def run_quality(con, parquet: Path, folder: Path) -> None:
    from phases.core.records import dump_json
    from phases.profile.statistical_quality import QualitySettings, find_quality_findings

    profiles = COLUMN_PROFILES.load(folder / "column_profiles.json").by_name
    con.execute(f"CREATE VIEW typed AS SELECT * FROM read_parquet('{parquet}')")
    report = find_quality_findings(con, "typed", list(profiles.values()), QualitySettings(), "bench")
    dump_json(folder / "quality_findings.json", report)


def run_temporal(con, parquet: Path, folder: Path) -> None:
    """What phases.profile.temporal.profile_time does, on the same table."""
    from phases.artifacts.temporal_profiles import TEMPORAL_PROFILES
    from phases.core.sql import quote_ident
    from phases.profile.temporal import DATE_TYPES, NUMERIC_TYPES, profile_temporal
    from phases.profile.temporal_settings import TemporalSettings

    wanted = [c for c, t in TYPES.items() if t in DATE_TYPES + NUMERIC_TYPES]
    con.execute(f"CREATE TEMP TABLE typed AS SELECT {', '.join(map(quote_ident, wanted))} "
                f"FROM read_parquet('{parquet}')")
    TEMPORAL_PROFILES.dump(folder, profile_temporal(con, "typed", TYPES, TemporalSettings()))


TASKS = {"summarize": run_summarize, "statistics": run_statistics, "quality": run_quality,
         "temporal": run_temporal}


def child(task: str, parquet: Path, folder: Path, threads: int) -> None:
    con = connect(threads, folder)
    start = time.perf_counter()
    TASKS[task](con, parquet, folder)
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(json.dumps({"seconds": seconds, "rss_mb": rss_mb}))


# --- the parent: generate, run children, print ------------------------------------------------


def measure(task: str, parquet: Path, folder: Path, threads: int, repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, __file__, "--child", task, str(parquet), str(folder), str(threads)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{task} failed:\n{proc.stderr[-3000:]}")
        runs.append(json.loads(proc.stdout.splitlines()[-1]))
    return min(r["seconds"] for r in runs), max(r["rss_mb"] for r in runs)


def has_temporal() -> bool:
    try:
        import phases.profile.temporal  # noqa: F401 -- written in parallel; benchmarked when present
    except ImportError:
        return False
    return True


def bench_size(rows: int, work: Path, repeat: int) -> list[tuple[str, ...]]:
    import duckdb

    parquet = work / f"typed_{rows}.parquet"
    with duckdb.connect() as con:
        con.execute("SELECT setseed(0.42)")
        con.execute(GENERATE.format(rows=rows, path=parquet))
    tasks = ["summarize", "statistics", "quality"] + (["temporal"] if has_temporal() else [])
    lines = []
    for threads in (1, 2):
        folder = work / f"out_{rows}_{threads}"
        folder.mkdir(exist_ok=True)
        results = {task: measure(task, parquet, folder, threads, repeat) for task in tasks}
        for task, (seconds, rss) in results.items():
            lines.append((f"{rows:,}", str(threads), task, f"{seconds:.2f}", f"{rss:.0f}"))
        phases = [t for t in tasks if t != "summarize"]
        total = sum(results[t][0] for t in phases)
        lines.append((f"{rows:,}", str(threads), " + ".join(phases), f"{total:.2f}",
                      f"{max(results[t][1] for t in phases):.0f}"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 250_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest counts")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    parser.add_argument("--child", nargs=4, metavar=("TASK", "PARQUET", "FOLDER", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        task, parquet, folder, threads = args.child
        child(task, Path(parquet), Path(folder), int(threads))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        lines = [("rows", "threads", "task", "seconds", "peak RSS MB")]
        for rows in args.rows:
            lines += bench_size(rows, work, args.repeat)
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    for line in lines:
        print("  ".join(cell.rjust(w) if i in (0, 1, 3, 4) else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(line, widths, strict=True))))


if __name__ == "__main__":
    main()
