"""Evaluate the pipeline's claims on the evaluation corpus (bench/corpus/), against hand-verified truth.

    python bench/eval_corpus.py [--only NAME[,NAME]] [--skip-run] [--json FILE] [--details]
                                [--check-truth] [--repo DIR] [--dataraum CMD]

For each dataset: its CSV folder is materialised by bench/corpus/fetch.py under
bench/out/corpus/<dataset>/data/, a throwaway project is made under
bench/out/corpus/<dataset>/project/ (the repository's config/ and dodo.py copied at run time, a
sources.yaml of its own), the whole pipeline runs through the CLI (`dataraum --root PROJECT run -j 2`),
and its JSON outputs are scored against bench/corpus/<dataset>/truth.yaml:

- FK precision / recall: a found FK is right when it joins the same tables on the same column pairs
  as a true one (a composite FK counts once; its columns found one by one do not count; a truth FK
  marked `optional` counts when found and is not missed when absent; `one_to_one` ones count in
  either direction); orphans: found FKs whose orphan rows equal the measured ones.
- key found / chosen: the declared primary key is among the candidate keys (statistics and
  relationships) / the key the relationships phase chose for the table is the declared primary key
  or one of the truth's alternate (candidate) keys.
- not ready: share of columns whose readiness is not `ready`; false alarms: share of the
  should_not_flag columns that are not ready; flags right: flagged should_flag columns over
  flagged columns judged by the truth (flags on columns the truth does not judge are counted apart);
  flag recall: should_flag columns that are flagged; nulls told: should_flag columns judged for their
  NULLs ('nulls: ...') that are flagged or, ready, carry the NULL count as a note in the context,
  and `note` columns ('nulls: ...': NULLs that leave SQL answers right, a fact the context states:
  a coverage period, a dimension's NULL group, an averaged reading's gaps) that carry the note;
  a `note` column that is flagged counts as a false alarm, as a should_not_flag one does (issue 12).
- additive errors: columns labelled `additive` whose truth says not to sum them.
- types: columns whose type matches the truth; nulls exact: columns whose profiled NULL count
  equals the CSV's empty fields (a value turned into NULL by a null token, or a cast failure,
  shows here).

Exits 0 whatever the figures (a measurement); 2 on a usage error. `--check-truth` only re-measures
the truth files against the data with DuckDB (rows, keys, orphans) and exits 1 on a mismatch.
The finance datasets read ../shared/data/<name>/ground_truth.json and are skipped, with a message,
when ../shared is missing. The pipeline runs on one dataset at a time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "bench" / "corpus"
OUT = REPO / "bench" / "out" / "corpus"
TARGETS = {"fk_precision": 0.95, "fk_recall": 0.95, "not_ready_clean": 0.10, "flags_right": 0.80}
TYPE_ALIASES = {"decimal": {"decimal", "currency", "percent"}, "integer": {"integer"}, "text": {"text"},
                "date": {"date"}, "timestamp": {"timestamp"}, "boolean": {"boolean"}}


def _load_fetch():
    spec = importlib.util.spec_from_file_location("corpus_fetch", CORPUS / "fetch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fetch = _load_fetch()


# --- truth -----------------------------------------------------------------------------------


@dataclass
class FK:
    child: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    orphans: int | None = None
    optional: bool = False
    one_to_one: bool = False

    def pairs(self) -> frozenset:
        return frozenset(zip(self.columns, self.parent_columns, strict=True))

    def label(self) -> str:
        return f"{self.child}({', '.join(self.columns)}) -> {self.parent}({', '.join(self.parent_columns)})"


@dataclass
class Column:
    type: str | None = None
    additive: bool | None = None
    should_flag: str | None = None
    should_not_flag: str | None = None
    note: str | None = None  # a fact the context must state as a note, not a flag (NULLs that leave SQL right)


@dataclass
class Table:
    rows: int | None
    primary_key: tuple[str, ...] | None
    candidate_keys: list[tuple[str, ...]]
    columns: dict[str, Column]
    duplicate_rows: int = 0


@dataclass
class Truth:
    name: str
    clean: bool
    tables: dict[str, Table]
    foreign_keys: list[FK]


class Missing(Exception):
    """Truth or data that is not on this machine (../shared)."""


def load_truth(name: str) -> Truth:
    doc = yaml.safe_load((CORPUS / name / "truth.yaml").read_text())
    if doc.get("ground_truth"):
        return _finance_truth(name, doc)
    tables = {}
    for table, spec in doc["tables"].items():
        columns = {}
        for column, c in spec["columns"].items():
            columns[column] = Column(c.get("type"), c.get("additive"), c.get("should_flag"), c.get("should_not_flag"),
                                     c.get("note"))
        pk = tuple(spec["primary_key"]) if spec.get("primary_key") else None
        tables[table] = Table(spec.get("rows"), pk, [tuple(k) for k in spec.get("candidate_keys", [])], columns,
                              spec.get("duplicate_rows", 0))
    fks = [FK(f["from"], tuple(f["columns"]), f["to"], tuple(f["to_columns"]), f.get("orphans"),
              bool(f.get("optional")), bool(f.get("one_to_one"))) for f in doc.get("foreign_keys", [])]
    return Truth(name, bool(doc.get("clean")), tables, fks)


def _finance_truth(name: str, doc: dict) -> Truth:
    path = (REPO / doc["ground_truth"]).resolve()
    if not path.exists():
        raise Missing(f"{path} is missing (the finance sources live in ../shared/data)")
    gt = json.loads(path.read_text())
    flagged = {tuple(k.split(".", 1)): v for k, v in gt.get("columns_with_injected_issues", {}).items()}
    # side effects of the injections (net_amount no longer = debit - credit): a flag there is right
    for k in (gt.get("collateral_effects") or {}).get("columns_with_collateral_issues", []):
        flagged.setdefault(tuple(k.split(".", 1)), ["collateral of the injections"])
    fine = {tuple(k.split(".", 1)) for k in gt.get("columns_without_injected_issues", [])}
    kinds = {"integer": "integer", "float": "decimal", "string": "text", "date": "date", "boolean": "boolean"}
    pks = {pk["table"]: tuple(pk["columns"]) for pk in gt["primary_keys"]}
    tables = {}
    for table, spec in gt["tables"].items():
        columns = {}
        for column, c in spec["columns"].items():
            kind = kinds.get(c.get("csv_type_in_clean") or c.get("csv_type"))
            additive = doc.get("additive", {}).get(table, {}).get(column)
            issues = flagged.get((table, column))
            columns[column] = Column(kind, additive, ", ".join(issues) if issues else None,
                                     "no injected issue" if (table, column) in fine and not issues else None)
        tables[table] = Table(spec.get("rows"), pks.get(table), [], columns)
    fks = []
    for fk in gt["foreign_keys"]:
        child, child_col = fk["child"].split(".", 1)
        parent, parent_col = fk["parent"].split(".", 1)
        fks.append(FK(child, (child_col,), parent, (parent_col,), fk.get("orphan_rows")))
    return Truth(name, bool(doc.get("clean")), tables, fks)


def check_truth(truth: Truth, data: Path) -> list[str]:
    """Re-measure the truth's numbers on the CSV files with DuckDB: rows, columns, keys, orphans."""
    import duckdb

    con = duckdb.connect()
    problems = []
    for table in truth.tables:
        path = data / f"{table}.csv"
        if not path.exists():
            problems.append(f"{table}: no file {path.name}")
            continue
        con.execute(f"CREATE VIEW \"{table}\" AS SELECT * FROM read_csv('{path}', nullstr='', sample_size=-1, "
                    "all_varchar=true)")

    def q(sql: str):
        return con.execute(sql).fetchone()

    for name, table in truth.tables.items():
        if not (data / f"{name}.csv").exists():
            continue
        rows = q(f'SELECT count(*) FROM "{name}"')[0]
        if table.rows is not None and rows != table.rows:
            problems.append(f"{name}: {rows} rows, truth says {table.rows}")
        header = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
        if set(header) != set(table.columns):
            problems.append(f"{name}: columns differ from the truth: {sorted(set(header) ^ set(table.columns))}")
        for key in ([table.primary_key] if table.primary_key else []) + table.candidate_keys:
            cols = ", ".join(f'"{c}"' for c in key)
            nulls = " OR ".join(f'"{c}" IS NULL' for c in key)
            distinct, null_rows = q(f'SELECT count(DISTINCT ({cols})), count(*) FILTER (WHERE {nulls}) FROM "{name}"')
            if distinct != rows or null_rows:
                problems.append(f"{name}({', '.join(key)}): not a key "
                                f"({distinct} distinct of {rows}, {null_rows} with NULL)")
    for fk in truth.foreign_keys:
        if fk.child not in truth.tables or fk.parent not in truth.tables:
            continue
        on = " AND ".join(f'c."{a}" = p."{b}"' for a, b in zip(fk.columns, fk.parent_columns, strict=True))
        present = " AND ".join(f'c."{a}" IS NOT NULL' for a in fk.columns)
        orphans = q(f'SELECT count(*) FROM "{fk.child}" c LEFT JOIN "{fk.parent}" p ON {on} '
                    f'WHERE {present} AND p."{fk.parent_columns[0]}" IS NULL')[0]
        if fk.orphans is not None and orphans != fk.orphans:
            problems.append(f"{fk.label()}: {orphans} orphan rows, truth says {fk.orphans}")
    return problems


# --- running the pipeline --------------------------------------------------------------------


def make_project(project: Path, source: str, data: Path, repo: Path) -> None:
    """A throwaway project: the repository's config/ and dodo.py as they are now, one source."""
    if project.exists():
        shutil.rmtree(project)
    project.mkdir(parents=True)
    shutil.copytree(repo / "config", project / "config")
    shutil.copy(repo / "dodo.py", project / "dodo.py")
    sources = {"sources": {source: {"path": str(data.resolve())}}}
    (project / "config" / "sources.yaml").write_text(yaml.safe_dump(sources, sort_keys=False))


def run_pipeline(project: Path, dataraum: list[str], log: Path) -> tuple[float, int]:
    env = dict(os.environ)
    bin_dir = Path(dataraum[0]).parent
    if (bin_dir / "python").exists():  # the CLI's own virtual environment first: its tasks run its python
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(bin_dir.parent)
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run([*dataraum, "--root", str(project), "run", "-j", "2"], stdout=out,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=project)
    return time.perf_counter() - start, proc.returncode


# --- scoring ---------------------------------------------------------------------------------


@dataclass
class Score:
    dataset: str
    clean: bool
    tables: int = 0
    columns: int = 0
    fk_found: int = 0
    fk_true: int = 0
    fk_right: int = 0
    fk_hit: int = 0
    orphans_ok: int = 0
    orphans_checked: int = 0
    keys_declared: int = 0
    keys_found: int = 0
    keys_chosen: int = 0
    not_ready: int = 0
    should_not: int = 0
    false_alarms: int = 0
    flags_right: int = 0
    flags_wrong: int = 0
    flags_unknown: int = 0
    should_flag: int = 0
    flagged_should: int = 0
    nulls_should: int = 0
    nulls_told: int = 0
    additive_errors: int = 0
    types_ok: int = 0
    types_judged: int = 0
    nulls_ok: int = 0
    nulls_checked: int = 0
    source_readiness: str = "-"
    wall_s: float | None = None
    error: str | None = None
    details: dict = field(default_factory=dict)

    def ratio(self, a: int, b: int) -> float | None:
        return a / b if b else None

    @property
    def fk_precision(self):
        return self.ratio(self.fk_right, self.fk_found) if self.fk_true or self.fk_found else None

    @property
    def fk_recall(self):
        return self.ratio(self.fk_hit, self.fk_true)

    def row(self) -> dict:
        return {
            "dataset": self.dataset, "clean": self.clean, "tables": self.tables, "columns": self.columns,
            "fk_precision": self.fk_precision, "fk_recall": self.fk_recall,
            "fk_found": self.fk_found, "fk_right": self.fk_right, "fk_true": self.fk_true, "fk_hit": self.fk_hit,
            "orphans_ok": self.orphans_ok, "orphans_checked": self.orphans_checked,
            "key_found": self.ratio(self.keys_found, self.keys_declared),
            "key_chosen": self.ratio(self.keys_chosen, self.keys_declared), "keys_declared": self.keys_declared,
            "not_ready": self.ratio(self.not_ready, self.columns),
            "false_alarms": self.ratio(self.false_alarms, self.should_not),
            "flags_right": self.ratio(self.flags_right, self.flags_right + self.flags_wrong),
            "flags_judged": self.flags_right + self.flags_wrong, "flags_right_n": self.flags_right,
            "flags_unknown": self.flags_unknown,
            "flag_recall": self.ratio(self.flagged_should, self.should_flag),
            "nulls_told": self.ratio(self.nulls_told, self.nulls_should),
            "additive_errors": self.additive_errors,
            "types": self.ratio(self.types_ok, self.types_judged),
            "nulls_exact": self.ratio(self.nulls_ok, self.nulls_checked),
            "source_readiness": self.source_readiness, "wall_s": self.wall_s, "error": self.error,
            "details": self.details,
        }


def _read(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def read_context(state: Path):
    """context.json: written by the context phase (state/context/), by the entropy phase before it."""
    return _read(state / "context" / "context.json") or _read(state / "entropy" / "context.json")


def found_fks(relationships: dict) -> tuple[list[dict], list[dict]]:
    """Accepted relationships, and those reported as likely/unverified (if the phase reports any)."""
    accepted, likely = [], []
    for rel in relationships.get("relationships", []):
        status = str(rel.get("status", "accepted")).lower()
        (likely if status in ("likely", "unverified", "likely_unverified") else accepted).append(rel)
    for key in ("likely", "unverified", "likely_relationships"):
        likely.extend(relationships.get(key, []) or [])
    return accepted, likely


def _match(rel: dict, truth: list[FK]) -> FK | None:
    child, parent = rel["child_table"], rel["parent_table"]
    pairs = frozenset(zip(rel["child_columns"], rel["parent_columns"], strict=True))
    reverse = frozenset((b, a) for a, b in pairs)
    for fk in truth:
        if fk.child == child and fk.parent == parent and fk.pairs() == pairs:
            return fk
        if fk.one_to_one and fk.child == parent and fk.parent == child and fk.pairs() == reverse:
            return fk
    return None


def _rel_label(rel: dict) -> str:
    return (f"{rel['child_table']}({', '.join(rel['child_columns'])}) -> "
            f"{rel['parent_table']}({', '.join(rel['parent_columns'])})")


def empty_fields(data: Path, tables) -> dict[tuple[str, str], int]:
    """Per column, the CSV fields that are empty: the real NULLs, to compare with the profiled NULL count."""
    import duckdb

    counts = {}
    con = duckdb.connect()
    for table in tables:
        path = data / f"{table}.csv"
        if not path.exists():
            continue
        rel = f"read_csv('{path}', all_varchar=true, nullstr='', sample_size=-1)"
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
        if not columns:
            continue
        nulls = ", ".join(f'count(*) - count("{c}")' for c in columns)
        row = con.execute(f"SELECT {nulls} FROM {rel}").fetchone()
        counts.update({(table, c): n for c, n in zip(columns, row, strict=True)})
    return counts


def score(truth: Truth, state: Path, data: Path | None = None) -> Score:
    s = Score(truth.name, truth.clean, tables=len(truth.tables))
    d = s.details
    rel_doc = _read(state / "relationships" / "relationships.json")
    context = read_context(state)
    if rel_doc is None and context is None:
        s.error = f"no outputs under {state}"
        return s

    # foreign keys
    required = [fk for fk in truth.foreign_keys if not fk.optional]
    s.fk_true = len(required)
    if rel_doc is not None:
        accepted, likely = found_fks(rel_doc)
        s.fk_found = len(accepted)
        hits, wrong, orphan_diff = set(), [], []
        for rel in accepted:
            fk = _match(rel, truth.foreign_keys)
            if fk is None:
                wrong.append(_rel_label(rel))
                continue
            s.fk_right += 1
            hits.add(fk.label())
            if fk.orphans is not None:
                s.orphans_checked += 1
                if rel.get("orphan_rows") == fk.orphans:
                    s.orphans_ok += 1
                else:
                    orphan_diff.append(f"{fk.label()}: {rel.get('orphan_rows')} orphans, truth {fk.orphans}")
        s.fk_hit = sum(fk.label() in hits for fk in required)
        missed = [fk for fk in required if fk.label() not in hits]
        likely_hits = {m.label() for rel in likely if (m := _match(rel, truth.foreign_keys))}
        rejected = {m.label() for rel in rel_doc.get("rejected", []) if (m := _match(rel, truth.foreign_keys))}
        d["fk_wrong"] = wrong
        d["fk_missed"] = [f"{fk.label()}" + (" [likely]" if fk.label() in likely_hits else "")
                          + (" [rejected]" if fk.label() in rejected else "") for fk in missed]
        d["fk_orphan_mismatch"] = orphan_diff
        d["fk_likely"] = len(likely)

    # keys
    chosen_keys = {t: tuple(keys[0]) for t, keys in (rel_doc or {}).get("primary_keys", {}).items() if keys}
    d["keys_wrong"], d["keys_alternate"] = [], []
    for name, table in truth.tables.items():
        profile = _read(state / "statistics" / name / "table_profile.json") or {}
        candidates = {frozenset(k) for k in profile.get("candidate_keys", [])}
        candidates |= {frozenset(k) for k in (rel_doc or {}).get("primary_keys", {}).get(name, [])}
        chosen = chosen_keys.get(name)
        if table.primary_key:
            s.keys_declared += 1
            s.keys_found += frozenset(table.primary_key) in candidates
            alternates = {frozenset(k) for k in table.candidate_keys}
            if chosen and frozenset(chosen) == frozenset(table.primary_key):
                s.keys_chosen += 1
            elif chosen and frozenset(chosen) in alternates:
                s.keys_chosen += 1
                d["keys_alternate"].append(f"{name}: chose {list(chosen)}, an alternate key; "
                                           f"primary {list(table.primary_key)}")
            else:
                d["keys_wrong"].append(f"{name}: chose {list(chosen) if chosen else None}, "
                                       f"true {list(table.primary_key)}"
                                       + ("" if frozenset(table.primary_key) in candidates else " (not a candidate)"))
        elif chosen:
            d["keys_wrong"].append(f"{name}: chose {list(chosen)}, the table has no key")

    # columns: readiness, flags, aggregation, types
    if context is None:
        s.error = "no context.json"
        return s
    s.source_readiness = (context.get("readiness") or {}).get("level", "-")
    d.update(flags_wrong=[], flags_unknown=[], flags_missed=[], additive_errors=[], additive_missed=[], types_wrong=[],
             columns_unmatched=[], nulls_differ=[], duplicates_unreported=[], notes_missed=[])
    empties = empty_fields(data, truth.tables) if data is not None and data.is_dir() else {}
    for name, table in truth.tables.items():
        if table.duplicate_rows:
            text = json.dumps([t for t in context.get("tables", []) if t.get("table") == name]).lower()
            if "duplicate" not in text:
                d["duplicates_unreported"].append(f"{name}: {table.duplicate_rows} duplicate rows, not in the context")
    seen = set()
    for col in context.get("columns", []):
        table, column = col["table"], col["column"]
        s.columns += 1
        t = truth.tables.get(table)
        c = t.columns.get(column) if t else None
        if c is None:
            d["columns_unmatched"].append(f"{table}.{column}")
            continue
        seen.add((table, column))
        flagged = col.get("readiness") != "ready"
        dims = ", ".join(i.get("dimension", "?") for i in col.get("issues", [])[:3])
        where = f"{table}.{column}"
        s.not_ready += flagged
        calm = c.should_not_flag if c.should_not_flag is not None else c.note
        if calm is not None:
            s.should_not += 1
        if c.should_flag is not None:
            s.should_flag += 1
        if flagged:
            if c.should_flag is not None:
                s.flags_right += 1
                s.flagged_should += 1
            elif calm is not None:
                s.flags_wrong += 1
                s.false_alarms += 1
                d["flags_wrong"].append(f"{where} [{col.get('readiness')}: {dims}] truth: {calm}")
            else:
                s.flags_unknown += 1
                d["flags_unknown"].append(f"{where} [{col.get('readiness')}: {dims}]")
        elif c.should_flag is not None:
            d["flags_missed"].append(f"{where}: {c.should_flag}")
        noted = any(i.get("dimension") == "nulls" for i in col.get("issues", []))
        if c.should_flag is not None and c.should_flag.startswith("nulls"):
            s.nulls_should += 1
            s.nulls_told += flagged or noted
        elif c.note is not None and c.note.startswith("nulls"):
            s.nulls_should += 1
            s.nulls_told += noted
            if not noted:
                d["notes_missed"].append(f"{where}: {c.note}")
        if (table, column) in empties and isinstance((col.get("stats") or {}).get("nulls"), int):
            s.nulls_checked += 1
            if col["stats"]["nulls"] == empties[(table, column)]:
                s.nulls_ok += 1
            else:
                d["nulls_differ"].append(f"{where}: {col['stats']['nulls']} NULL in the context, "
                                         f"{empties[(table, column)]} empty fields in the CSV")
        aggregation = col.get("aggregation")
        if aggregation == "additive" and c.additive is False:
            s.additive_errors += 1
            d["additive_errors"].append(f"{where} (role {col.get('role')})")
        elif c.additive is True and aggregation != "additive":
            d["additive_missed"].append(f"{where}: {aggregation}")
        if c.type:
            s.types_judged += 1
            allowed = set().union(*(TYPE_ALIASES.get(k, {k}) for k in c.type.split("|")))
            if col.get("type") in allowed:
                s.types_ok += 1
            else:
                d["types_wrong"].append(f"{where}: {col.get('type')}, truth {c.type}")
    d["columns_missing"] = [f"{t}.{c}" for t, table in truth.tables.items() for c in table.columns
                            if (t, c) not in seen]
    return s


# --- the table -------------------------------------------------------------------------------


def _fmt(value, kind="ratio") -> str:
    if value is None:
        return "-"
    if kind == "ratio":
        return f"{value:.2f}"
    if kind == "pct":
        return f"{100 * value:.0f}%"
    return str(value)


COLUMNS = [
    ("dataset", "dataset", None), ("tbl", "tables", "int"), ("cols", "columns", "int"),
    ("FK P", "fk_precision", "ratio"), ("FK R", "fk_recall", "ratio"), ("FK ok/found/true", None, None),
    ("orph ok", None, None), ("key found", "key_found", "ratio"), ("key chosen", "key_chosen", "ratio"),
    ("not ready", "not_ready", "pct"), ("false alarm", "false_alarms", "pct"), ("flags right", "flags_right", "pct"),
    ("flag recall", "flag_recall", "pct"), ("nulls told", "nulls_told", "pct"),
    ("unjudged flags", "flags_unknown", "int"),
    ("additive err", "additive_errors", "int"),
    ("types", "types", "pct"), ("nulls exact", "nulls_exact", "pct"), ("source", "source_readiness", None),
    ("wall s", "wall_s", "secs"),
]


def render(rows: list[dict]) -> str:
    header = [c[0] for c in COLUMNS]
    body = []
    for r in rows:
        cells = []
        for title, key, kind in COLUMNS:
            if title == "FK ok/found/true":
                cells.append(f"{r['fk_right']}/{r['fk_found']}/{r['fk_true']}")
            elif title == "orph ok":
                cells.append(f"{r['orphans_ok']}/{r['orphans_checked']}")
            elif kind == "secs":
                cells.append("-" if r[key] is None else f"{r[key]:.0f}")
            elif kind is None:
                cells.append(str(r[key]) + (" *" if key == "dataset" and r["clean"] else ""))
            else:
                cells.append(_fmt(r[key], kind))
        body.append(cells)
    target = {"dataset": "target (issue 12)", "FK P": ">=0.95", "FK R": ">=0.95", "not ready": "<=10%*",
              "flags right": ">=80%", "additive err": "0"}
    body.append([target.get(title, "") for title, _, _ in COLUMNS])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) for b in body[:-1]]
    lines.append("  ".join("-" * w for w in widths))
    lines.append("  ".join(c.ljust(w) for c, w in zip(body[-1], widths, strict=True)))
    return "\n".join(lines)


def totals(rows: list[dict]) -> dict:
    rel = [r for r in rows if r["fk_true"]]
    clean = [r for r in rows if r["clean"] and r["columns"]]

    def share(rs, a, b):
        den = sum(r[b] for r in rs)
        return sum(r[a] for r in rs) / den if den else None

    judged = sum(r["flags_judged"] for r in rows)
    right = sum(r["flags_right_n"] for r in rows)
    meeting = sum((r["fk_precision"] or 0) >= 0.95 and (r["fk_recall"] or 0) >= 0.95 for r in rel)
    return {
        "relational datasets meeting FK P and R >= 0.95": f"{meeting}/{len(rel)}",
        "FK precision (pooled)": share(rel, "fk_right", "fk_found"),
        "FK recall (pooled)": share(rel, "fk_hit", "fk_true"),
        "clean datasets with <= 10% not ready": f"{sum((r['not_ready'] or 0) <= 0.10 for r in clean)}/{len(clean)}",
        "flags right (pooled)": right / judged if judged else None,
        "additive errors (all)": sum(r["additive_errors"] for r in rows),
    }


def print_details(row: dict) -> None:
    d = row["details"]
    print(f"\n## {row['dataset']}" + (f"  (error: {row['error']})" if row["error"] else ""))
    for key, title in [("fk_wrong", "FK wrong"), ("fk_missed", "FK missed"),
                       ("fk_orphan_mismatch", "FK orphans differ"), ("keys_wrong", "key wrong"),
                       ("keys_alternate", "alternate key chosen (counted right)"),
                       ("flags_wrong", "flag on a clean column"), ("flags_missed", "flag missed"),
                       ("flags_unknown", "flag on an unjudged column"),
                       ("notes_missed", "NULLs to be told as a note, not in the context"),
                       ("additive_errors", "additive, must not be summed"),
                       ("additive_missed", "additive, not labelled so"), ("types_wrong", "type differs"),
                       ("nulls_differ", "NULL count differs from the CSV's empty fields"),
                       ("duplicates_unreported", "duplicate rows not reported"),
                       ("columns_unmatched", "column not in the truth"),
                       ("columns_missing", "truth column not in the context")]:
        items = d.get(key) or []
        if items:
            print(f"  {title} ({len(items)}):")
            for item in items[:40]:
                print(f"    {item}")
            if len(items) > 40:
                print(f"    ... {len(items) - 40} more")


def default_dataraum() -> list[str]:
    found = shutil.which("dataraum")
    if found:
        return [found]
    local = Path(sys.executable).parent / "dataraum"
    return [str(local)] if local.exists() else [sys.executable, "-m", "phases"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated dataset names (default: all)")
    parser.add_argument("--skip-run", action="store_true", help="score the existing state, do not run the pipeline")
    parser.add_argument("--json", type=Path, help="write the table (and the details) as JSON to this file")
    parser.add_argument("--details", action="store_true", help="print what was wrong, per dataset, after the table")
    parser.add_argument("--check-truth", action="store_true", help="only re-measure the truth files on the data")
    parser.add_argument("--repo", type=Path, default=REPO, help="where config/ and dodo.py are copied from")
    parser.add_argument("--dataraum", help="the CLI to run (default: dataraum on PATH)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    names = list(fetch.RECIPES)
    if args.only:
        unknown = [n for n in args.only.split(",") if n not in names]
        if unknown:
            parser.error(f"unknown dataset(s): {', '.join(unknown)}; known: {', '.join(names)}")
        names = args.only.split(",")
    dataraum = args.dataraum.split() if args.dataraum else default_dataraum()

    rows, failed_checks = [], 0
    for name in names:
        try:
            truth = load_truth(name)
            data = fetch.materialise(name, args.out) if not args.skip_run else args.out / name / "data"
        except (Missing, fetch.Skip) as why:
            print(f"{name}: skipped: {why}", file=sys.stderr)
            continue
        if args.check_truth:
            problems = check_truth(truth, data)
            failed_checks += bool(problems)
            print(f"{name}: " + ("truth matches the data" if not problems else f"{len(problems)} problem(s)"))
            for p in problems:
                print(f"  {p}")
            continue
        project = args.out / name / "project"
        wall = None
        error = None
        if not args.skip_run:
            make_project(project, name, data, args.repo)
            print(f"{name}: running the pipeline ...", file=sys.stderr, flush=True)
            wall, code = run_pipeline(project, dataraum, args.out / name / "run.log")
            if code != 0:
                error = f"dataraum run exited {code} (see {args.out / name / 'run.log'})"
            print(f"{name}: {wall:.0f} s" + (f", {error}" if error else ""), file=sys.stderr, flush=True)
        elif (args.out / name / "wall_s").exists():
            wall = float((args.out / name / "wall_s").read_text())
        if wall is not None and not args.skip_run:
            (args.out / name / "wall_s").write_text(f"{wall:.1f}")
        result = score(truth, project / "state" / name, data)
        result.wall_s = wall
        result.error = error or result.error
        rows.append(result.row())
    if args.check_truth:
        return 1 if failed_checks else 0

    print()
    print(render(rows))
    print("\n* clean: real data without injected defects (the 'not ready' target applies to these)")
    print("targets (issue 12): FK precision and recall >= 0.95 on every relational dataset; <= 10% of columns "
          "not ready on clean data; >= 80% of flags right; no additive label on a column that must not be summed")
    for key, value in totals(rows).items():
        print(f"  {key}: {_fmt(value) if isinstance(value, float) else value}")
    if args.details:
        for row in rows:
            print_details(row)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"targets": TARGETS, "datasets": rows, "totals": totals(rows)}, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
