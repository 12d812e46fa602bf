"""Does heavier corruption give more findings? Run the pipeline on the clean finance data corrupted by
bench/inject.py at rising rates and score its findings against the injector's truth (issue 12, item 6).

    python bench/eval_injected.py [--rates 0,0.02,0.05,0.1,0.2,0.4] [--seeds 7[,8]] [--out bench/out/inject]
                                  [--source DIR] [--skip-run] [--details] [--json FILE] [--repo DIR] [--dataraum CMD]

Per seed and rate: the corrupted folder is written under OUT/s<seed>/r<rate>/data with its
injected.json, a throwaway project is made next to it (the repository's config/ and dodo.py copied
at run time, as bench/eval_corpus.py does), and `dataraum --root PROJECT run -j 2` runs the whole
pipeline. Then, per rate (pooled over the seeds):

- recall: an injection is found when one of its columns is `investigate` or `blocked` with a
  matching dimension among its top findings (bench/eval_entropy.py's MATCHING and judgement);
  NULLs injected into a column where NULLs leave SQL answers right (a dimension, whose NULLs are a
  group of their own; a reading that is averaged) are found when the context states them as a
  note with at least the injected count (issue 12: a fact stated precisely is a note), never strictly;
  duplicate rows, which have no column, are found when the context or a finding of their table
  mentions duplicates. Strict recall also asks that the matching finding alone scores at least
  the `investigate` threshold (config/thresholds.yaml): found by its own finding, not because
  another problem flagged the column and a weak matching one happened to be among the top;
- false alarms: columns the injector left untouched (no injection, not renamed, no relation of the
  clean data broken by an injection: see `collateral` in injected.json) that are not ready; a
  column NULL by design flagged for its nulls alone is excused, as in bench/eval_entropy.py;
- findings: the entropy objects of the run (every scored finding), per dimension.

"per kind" is the recall with every kind of injection weighing the same (the number of renamed
headers grows with the rate and would otherwise swamp the other kinds).

It lists every injection whose finding falls as the rate rises (found at a lower rate, missed at a
higher one), every dimension whose number of findings falls, and, with --details, each injection
at each rate with the readiness and top dimensions of its column. Targets (issue 12): recall
>= 0.9 on heavy corruption, false alarms <= 0.05 on clean data. Exits 0 whatever the figures
(a measurement), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import eval_corpus  # noqa: E402  (bench/ is not a package)
import inject  # noqa: E402
from eval_entropy import MATCHING, flagged, top  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO.parent / "shared" / "data" / "finance_clean"
OUT = REPO / "bench" / "out" / "inject"
RATES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)
TARGET_RECALL, TARGET_ALARMS = 0.9, 0.05
NAME = "injected"


@dataclass
class Verdict:
    """One injection at one rate."""

    key: str  # kind table.columns (original names): the same injection at every rate
    kind: str
    rows: int
    found: bool
    readiness: str
    dims: list[str]
    matched: str | None  # the matching dimension that found it
    score: float | None  # the best score of a matching finding on its columns (signal strength)
    type: str = "-"  # the column's type in the context
    strict: bool = False  # found, and the matching finding alone reaches the investigate threshold


@dataclass
class RunScore:
    seed: int
    rate: float
    verdicts: list[Verdict] = field(default_factory=list)
    untouched: int = 0
    alarms: list[str] = field(default_factory=list)
    findings: Counter = field(default_factory=Counter)
    not_ready: int = 0
    columns: int = 0
    collateral_flagged: int = 0
    collateral: int = 0
    error: str | None = None


def rate_label(rate: float) -> str:
    return f"r{round(rate * 1000):03d}"


def wanted(dimension: str) -> set[str]:
    return MATCHING.get(dimension, {dimension})


def _read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def judge_duplicates(record: dict, context: dict, objects: list[dict]) -> tuple[bool, str]:
    table = record["table"]
    entry = [t for t in context.get("tables", []) if t.get("table") == table]
    mine = [o for o in objects if o.get("table") == table or str(o.get("target", "")).startswith(f"{table}.")]
    text = json.dumps(entry + mine).lower()
    readiness = entry[0].get("readiness", "-") if entry else "-"
    return "duplicate" in text, readiness


def investigate_threshold(repo: Path) -> float:
    doc = yaml.safe_load((repo / "config" / "thresholds.yaml").read_text())
    return float(doc["readiness"]["investigate"])


def _noted_nulls(record: dict, names: list[str], objects: list[dict]) -> bool:
    """NULLs injected into a column where NULLs leave SQL answers right (a dimension's NULL group,
    a reading that is averaged) are a note stating their count, not a flag (issue 12): found when
    the note counts at least the injected NULLs."""
    return any(o.get("dimension") == "nulls" and o.get("target") in names and (o.get("evidence") or {}).get("harmless")
               and (o.get("evidence") or {}).get("null_count", 0) >= record["rows"] for o in objects)


def judge(record: dict, columns: dict[str, dict], objects: list[dict], context: dict, threshold: float) -> Verdict:
    key = f"{record['kind']} {record['table']}.{'/'.join(record.get('original_columns', record['columns']))}"
    if record["kind"] == "duplicate_rows":
        found, readiness = judge_duplicates(record, context, objects)
        return Verdict(key, record["kind"], record["rows"], found, readiness, [], "duplicate" if found else None, None,
                       strict=found)
    want = wanted(record["dimension"])
    names = [f"{record['table']}.{c}" for c in record["columns"]]
    found, matched, readiness, dims = False, None, "missing", []
    for name in names:
        column = columns.get(name)
        if column is None:
            continue
        readiness, dims = column["readiness"], top(column)
        hit = [d for d in dims if d in want]
        if flagged(column) and hit:
            found, matched = True, hit[0]
            break
    if not found and record["kind"] == "nulls":
        noted = _noted_nulls(record, names, objects)
        if noted:
            found, matched = True, "nulls (note)"
    # a finding on the column, or on a relationship whose child side it is
    scores = [o["score"] for o in objects if o.get("dimension") in want
              and str(o.get("target", "")).split("->", 1)[0] in names]
    best = max(scores) if scores else None
    kinds = {f"{c['table']}.{c['column']}": c.get("type", "-") for c in context.get("columns", [])}
    return Verdict(key, record["kind"], record["rows"], found, readiness, dims, matched, best,
                   kinds.get(names[0], "-"), found and best is not None and best >= threshold)


def score_run(seed: int, rate: float, state: Path, truth: dict, threshold: float = 0.3) -> RunScore:
    s = RunScore(seed, rate)
    scores, context = _read(state / "entropy" / "entropy_scores.json"), eval_corpus.read_context(state)
    if scores is None or context is None:
        s.error = f"no entropy outputs under {state}"
        return s
    columns = {f"{c['table']}.{c['column']}": c for c in scores["columns"]}
    objects = scores.get("objects", [])
    s.verdicts = [judge(r, columns, objects, context, threshold) for r in truth["injections"]]
    s.findings = Counter(o["dimension"] for o in objects)
    s.columns = len(columns)
    s.not_ready = sum(flagged(c) for c in columns.values())
    design = set(truth.get("design_nulls", []))
    untouched = [n for n in truth["untouched"] if n in columns]
    s.untouched = len(untouched)
    for name in untouched:
        column = columns[name]
        if flagged(column) and not (name in design and top(column)[:1] == ["nulls"]):
            s.alarms.append(f"{name}: {column['readiness']} {column['score']:.2f} ({'; '.join(column['reasons'][:1])})")
    collateral = [n for n in truth["collateral"] if n in columns]
    s.collateral = len(collateral)
    s.collateral_flagged = sum(flagged(columns[n]) for n in collateral)
    return s


# --- running ----------------------------------------------------------------------------------


def run_one(source: Path, seed: int, rate: float, out: Path, args: argparse.Namespace) -> RunScore:
    base = out / f"s{seed}" / rate_label(rate)
    data, project = base / "data", base / "project"
    if not args.skip_run:
        truth = inject.inject(source, data, rate, seed)
        eval_corpus.make_project(project, NAME, data, args.repo)
        print(f"seed {seed} rate {rate:.0%}: running the pipeline ...", file=sys.stderr, flush=True)
        wall, code = eval_corpus.run_pipeline(project, args.dataraum, base / "run.log")
        print(f"seed {seed} rate {rate:.0%}: {wall:.0f} s" + (f", exit {code}" if code else ""), file=sys.stderr,
              flush=True)
    else:
        truth = json.loads((data / "injected.json").read_text())
    result = score_run(seed, rate, project / "state" / NAME, truth, investigate_threshold(args.repo))
    if not args.skip_run and code != 0:
        result.error = f"dataraum run exited {code} (see {base / 'run.log'})"
    return result


# --- reporting --------------------------------------------------------------------------------


def pooled(runs: list[RunScore]) -> dict:
    verdicts = [v for r in runs for v in r.verdicts]
    found = sum(v.found for v in verdicts)
    strict = sum(v.strict for v in verdicts)
    kinds = sorted({v.kind for v in verdicts})
    # each kind weighs the same: the renamed headers, whose number grows with the rate, do not swamp the others
    by_kind = [sum(v.found for v in verdicts if v.kind == k) / sum(v.kind == k for v in verdicts) for k in kinds]
    untouched = sum(r.untouched for r in runs)
    alarms = sum(len(r.alarms) for r in runs)
    return {"injections": len(verdicts), "found": found, "recall": found / len(verdicts) if verdicts else None,
            "strict_recall": strict / len(verdicts) if verdicts else None,
            "kind_recall": sum(by_kind) / len(by_kind) if by_kind else None,
            "untouched": untouched, "alarms": alarms, "false_alarms": alarms / untouched if untouched else None,
            "findings": sum(sum(r.findings.values()) for r in runs), "not_ready": sum(r.not_ready for r in runs),
            "columns": sum(r.columns for r in runs), "collateral": sum(r.collateral for r in runs),
            "collateral_flagged": sum(r.collateral_flagged for r in runs),
            "errors": [r.error for r in runs if r.error]}


def render_rates(by_rate: dict[float, list[RunScore]]) -> str:
    head = ["rate", "injections", "found", "recall", "strict", "per kind", "false alarms", "findings", "not ready",
            "collateral flagged"]
    rows = []
    for rate, runs in by_rate.items():
        p = pooled(runs)
        fa = "-" if p["false_alarms"] is None else f"{p['alarms']}/{p['untouched']} = {p['false_alarms']:.2f}"
        rows.append([f"{rate:.0%}", str(p["injections"]), str(p["found"]),
                     "-" if p["recall"] is None else f"{p['recall']:.2f}",
                     "-" if p["strict_recall"] is None else f"{p['strict_recall']:.2f}",
                     "-" if p["kind_recall"] is None else f"{p['kind_recall']:.2f}", fa, str(p["findings"]),
                     f"{p['not_ready']}/{p['columns']}", f"{p['collateral_flagged']}/{p['collateral']}"])
    rows.append(["target", "", "", f">={TARGET_RECALL} (heavy)", "", "", f"<={TARGET_ALARMS} (0%)", "never falls", "",
                 ""])
    return table(head, rows)


def render_kinds(by_rate: dict[float, list[RunScore]]) -> str:
    kinds = [k for k in inject.KINDS if any(v.kind == k for rs in by_rate.values() for r in rs for v in r.verdicts)]
    head = ["kind", *(f"{rate:.0%}" for rate in by_rate)]
    rows = []
    for kind in kinds:
        cells = [kind]
        for runs in by_rate.values():
            vs = [v for r in runs for v in r.verdicts if v.kind == kind]
            cells.append(f"{sum(v.found for v in vs)}/{len(vs)}" if vs else "-")
        rows.append(cells)
    dims = sorted({d for rs in by_rate.values() for r in rs for d in r.findings})
    for d in dims:
        rows.append([f"findings: {d}", *(str(sum(r.findings[d] for r in runs)) for runs in by_rate.values())])
    return table(head, rows)


def table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def falls(by_seed: dict[int, list[RunScore]]) -> list[str]:
    """Injections found at a rate and missed at a higher one (the first such rate); dimensions whose number of
    findings falls from one rate to the next."""
    out = []
    for seed, runs in by_seed.items():
        runs = sorted(runs, key=lambda r: r.rate)
        first_found: dict[str, float] = {}
        lost: set[str] = set()
        for run in runs:
            for v in run.verdicts:
                if v.found:
                    first_found.setdefault(v.key, run.rate)
                elif v.key in first_found and v.key not in lost:
                    lost.add(v.key)
                    out.append(f"seed {seed}: {v.key}: found at {first_found[v.key]:.0%}, missed at {run.rate:.0%}")
        for low, high in zip(runs, runs[1:], strict=False):
            for d in sorted(set(low.findings) | set(high.findings)):
                if high.findings[d] < low.findings[d]:
                    out.append(f"seed {seed}: findings of {d} fall from {low.findings[d]} at {low.rate:.0%} "
                               f"to {high.findings[d]} at {high.rate:.0%}")
    return out


def details(by_seed: dict[int, list[RunScore]]) -> None:
    for seed, runs in by_seed.items():
        runs = sorted(runs, key=lambda r: r.rate)
        print(f"\n## seed {seed}: each injection per rate (type, readiness, top dimensions; * found, ** strictly)")
        keys = sorted({v.key for r in runs for v in r.verdicts})
        for key in keys:
            print(f"  {key}")
            for r in runs:
                v = next((v for v in r.verdicts if v.key == key), None)
                if v is not None:
                    sig = "" if v.score is None else f", matching score {v.score:.2f}"
                    mark = "**" if v.strict else "* " if v.found else "  "
                    print(f"    {r.rate:>4.0%} {mark} {v.rows:>6} rows  {v.type:<8} {v.readiness:<11} "
                          f"{', '.join(v.dims) or '-'}{sig}")
        for r in runs:
            if r.alarms:
                print(f"  false alarms at {r.rate:.0%}:")
                for a in r.alarms:
                    print(f"    {a}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="the clean folder (default: finance_clean)")
    parser.add_argument("--rates", default=",".join(str(r) for r in RATES))
    parser.add_argument("--seeds", default="7")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--skip-run", action="store_true", help="score the existing outputs, do not run")
    parser.add_argument("--details", action="store_true", help="every injection at every rate, and the false alarms")
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    parser.add_argument("--repo", type=Path, default=REPO, help="where config/ and dodo.py are copied from")
    parser.add_argument("--dataraum", help="the CLI to run (default: dataraum on PATH)")
    args = parser.parse_args()
    try:
        rates = sorted({float(r) for r in args.rates.split(",")})
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError as why:
        parser.error(f"--rates and --seeds take comma-separated numbers: {why}")
    if not (args.source / "ground_truth.json").exists():
        print(f"skipped: {args.source} has no ground_truth.json (the shared data is not part of a user's clone)")
        return 0
    args.dataraum = args.dataraum.split() if args.dataraum else eval_corpus.default_dataraum()
    runs = [run_one(args.source, seed, rate, args.out, args) for seed in seeds for rate in rates]
    by_rate = {rate: [r for r in runs if r.rate == rate] for rate in rates}
    by_seed = {seed: [r for r in runs if r.seed == seed] for seed in seeds}
    print(f"\nsource {args.source.name}, seeds {', '.join(map(str, seeds))}\n")
    print(render_rates(by_rate))
    print("\nfound per injection kind, and findings per dimension:\n")
    print(render_kinds(by_rate))
    fell = falls(by_seed)
    print("\nfalls as the rate rises:" + ("" if fell else " none"))
    for line in fell:
        print(f"  {line}")
    for r in runs:
        if r.error:
            print(f"error: seed {r.seed} rate {r.rate:.0%}: {r.error}")
    if args.details:
        details(by_seed)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        doc = {"rates": {f"{rate}": pooled(rs) for rate, rs in by_rate.items()}, "falls": fell,
               "runs": [{"seed": r.seed, "rate": r.rate, "alarms": r.alarms, "findings": dict(r.findings),
                         "verdicts": [v.__dict__ for v in r.verdicts]} for r in runs]}
        args.json.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
