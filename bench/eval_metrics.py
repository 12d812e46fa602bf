"""Evaluate the metrics phase against the finance generator's answer key.

    python bench/eval_metrics.py [--project DIR] [--skip-run] [--months] [--json FILE]

Runs the pipeline up to the metrics phase on ../shared/data/finance_clean and finance_medium
(a throwaway project under bench/out/metrics/, the repository's config/ copied at run time; or
`--project DIR`, a project that has both as sources), then compares state/<source>/metrics/
metrics.json with truth/generator_ground_truth.json, annual and monthly:

- clean: every metric within 0.5% of the truth (DSO and DPO within 1 day), and none refused;
- medium (calibration): every metric off by more than 5% is caveated or refused, and so is every
  metric that `injection_impact` lists as broken.

Prints metric, period, truth, value, error, verdict (the annual rows; `--months` adds the months,
else one line per metric sums them up) and the verdict on each criterion. Exits 0 whatever the
figures (a measurement); 2 when ../shared is missing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "bench" / "out" / "metrics"
SOURCES = ("finance_clean", "finance_medium")
# our metric -> (the answer key's annual name, its monthly name)
TRUTH_NAMES = {
    "revenue": ("total_revenue", "revenue"), "expenses": ("total_expenses", "expenses"),
    "gross_profit": ("gross_profit", "gross_profit"), "ending_ar_balance": ("ending_ar_balance", "ar_balance"),
    "ending_ap_balance": ("ending_ap_balance", "ap_balance"),
    "ending_cash_balance": ("ending_cash_balance", "cash_balance"),
    "dso": ("annual_dso", "dso"), "dpo": ("annual_dpo", "dpo"), "free_cash_flow": ("free_cash_flow", None),
}
DAYS = {"dso", "dpo"}  # judged in days, not in percent
CLEAN_TOLERANCE, DAYS_TOLERANCE, MEDIUM_TOLERANCE = 0.005, 1.0, 0.05


def truth_rows(key: dict) -> list[tuple[str, str, float]]:
    """(metric, period, true value) of the answer key."""
    year = key["fiscal_year_start"][:4]
    rows = [(metric, year, float(key["annual"][annual])) for metric, (annual, _) in TRUTH_NAMES.items()]
    for month in key["monthly"]:
        rows += [(metric, month["period"], float(month[name])) for metric, (_, name) in TRUTH_NAMES.items()
                 if name and month.get(name) is not None]
    return rows


def error(metric: str, truth: float, value: float | None) -> float | None:
    """Days for DSO and DPO, else the relative error."""
    if value is None:
        return None
    if metric in DAYS:
        return abs(value - truth)
    return abs(value - truth) / abs(truth) if truth else abs(value)


def judge(source: str, metric: str, err: float | None, verdict: str, broken: set[str]) -> str:
    """'ok' or what is wrong with one value."""
    if source == "finance_clean":
        if verdict == "refuse":
            return "REFUSED ON CLEAN"
        limit = DAYS_TOLERANCE if metric in DAYS else CLEAN_TOLERANCE
        return "ok" if err is not None and err <= limit else "OFF"
    wrong = err is None or err > (DAYS_TOLERANCE if metric in DAYS else MEDIUM_TOLERANCE) or metric in broken
    return "CONFIDENTLY WRONG" if wrong and verdict == "answer" else "ok"


def evaluate(state: Path, source: str) -> list[dict]:
    key = json.loads((DATA / source / "truth" / "generator_ground_truth.json").read_text())
    broken = {i["metric"] for i in key.get("injection_impact", [])}
    metrics = {m["metric"]: m for m in json.loads((state / source / "metrics" / "metrics.json").read_text())["metrics"]}
    rows = []
    for metric, period, truth in truth_rows(key):
        entry = metrics.get(metric, {})
        found = next((v for v in entry.get("values", []) if v["period"] == period), None)
        value = found["value"] if found else None
        verdict = found["verdict"] if found else "refuse"
        err = error(metric, truth, value)
        rows.append({"source": source, "metric": metric, "period": period, "truth": truth, "value": value,
                     "error": err, "verdict": verdict, "judged": judge(source, metric, err, verdict, broken)})
    return rows


def fmt_error(metric: str, err: float | None) -> str:
    if err is None:
        return "-"
    return f"{err:.2f} d" if metric in DAYS else f"{100 * err:.3f}%"


def render(rows: list[dict], months: bool) -> str:
    head = f"{'source':<15}{'metric':<21}{'period':<9}{'truth':>16}{'value':>16}{'error':>11}  {'verdict':<20}judged"
    lines = [head, "-" * len(head)]
    for row in rows:
        if len(row["period"]) == 7 and not months:
            continue
        value = "-" if row["value"] is None else f"{row['value']:,.2f}"
        lines.append(f"{row['source']:<15}{row['metric']:<21}{row['period']:<9}{row['truth']:>16,.2f}{value:>16}"
                     f"{fmt_error(row['metric'], row['error']):>11}  {row['verdict']:<20}{row['judged']}")
    if not months:
        lines += ["", "months (12 per metric): worst error, verdicts, judged not ok"]
        for (source, metric) in dict.fromkeys((r["source"], r["metric"]) for r in rows):
            mine = [r for r in rows if r["source"] == source and r["metric"] == metric and len(r["period"]) == 7]
            if not mine:
                continue
            errors = [r["error"] for r in mine if r["error"] is not None]
            verdicts = {v: sum(1 for r in mine if r["verdict"] == v)
                        for v in ("answer", "answer_with_caveats", "refuse")}
            bad = sum(1 for r in mine if r["judged"] != "ok")
            shown = ", ".join(f"{v} {n}" for v, n in verdicts.items() if n)
            lines.append(f"{source:<15}{metric:<21}worst {fmt_error(metric, max(errors) if errors else None):>10}"
                         f"  {shown:<38} not ok {bad}")
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    clean = [r for r in rows if r["source"] == "finance_clean"]
    medium = [r for r in rows if r["source"] == "finance_medium"]
    return "\n".join([
        f"clean within tolerance: {sum(r['judged'] == 'ok' for r in clean)}/{len(clean)}; "
        f"refused on clean: {sum(r['verdict'] == 'refuse' for r in clean)}",
        f"medium confidently wrong: {sum(r['judged'] != 'ok' for r in medium)}/{len(medium)}; "
        f"caveated or refused: {sum(r['verdict'] != 'answer' for r in medium)}/{len(medium)}",
    ])


def make_project(project: Path) -> None:
    if project.exists():
        shutil.rmtree(project)
    project.mkdir(parents=True)
    shutil.copytree(REPO / "config", project / "config")
    shutil.copy(REPO / "dodo.py", project / "dodo.py")
    sources = {"sources": {s: {"path": str((DATA / s).resolve())} for s in SOURCES}}
    (project / "config" / "sources.yaml").write_text(yaml.safe_dump(sources, sort_keys=False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a project with both finance sources (default: a new one)")
    parser.add_argument("--skip-run", action="store_true", help="read the existing metrics.json, run nothing")
    parser.add_argument("--months", action="store_true", help="print every month's row too")
    parser.add_argument("--json", type=Path, help="write the rows as JSON to this file")
    args = parser.parse_args()
    if not all((DATA / s / "truth" / "generator_ground_truth.json").is_file() for s in SOURCES):
        print(f"{DATA}: the finance sources are missing; nothing to evaluate", file=sys.stderr)
        return 2
    project = args.project or OUT / "project"
    if not args.skip_run:
        if args.project is None:
            make_project(project)
        dataraum = shutil.which("dataraum") or str(Path(sys.executable).parent / "dataraum")
        for source in SOURCES:
            subprocess.run([dataraum, "--root", str(project), "run", "-j", "2", "--source", source,
                            "--phase", "metrics"], check=False, stdout=subprocess.DEVNULL)
    rows = [row for source in SOURCES for row in evaluate(project / "state", source)]
    print(render(rows, args.months))
    print()
    print(summary(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
