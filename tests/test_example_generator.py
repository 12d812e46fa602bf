"""The bundled finance example: reproducible from its generator, and its documented defects are real.

Checks use only the stdlib csv module, so they test the data, not any pipeline phase.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GENERATOR = EXAMPLES / "generate_finance_example.py"
DATA = EXAMPLES / "finance_example"
MASTER = "Master_txn_table.csv"
TABLES = [MASTER, "customer_table.csv", "vendor_table.csv", "product_service_table.csv", "payment_method.csv"]


def generate(out: Path, *args: str) -> None:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out), *args], check=True,
                   capture_output=True, timeout=60)


def read(name: str, folder: Path = DATA) -> list[dict[str, str]]:
    with open(folder / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def num(text: str) -> float:
    return float(text) if text else 0.0


def parses(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def master() -> list[dict[str, str]]:
    return read(MASTER)


@pytest.fixture(scope="module")
def defects() -> dict[tuple[str, str, str], dict]:
    report = json.loads((DATA / "defects.json").read_text(encoding="utf-8"))
    return {(d["kind"], d["file"], d["column"]): d for d in report["defects"]}


# (a) reproducibility -----------------------------------------------------------------------------


def test_default_regeneration_is_byte_identical(tmp_path):
    generate(tmp_path)
    for name in [*TABLES, "defects.json"]:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_other_seed_and_size(tmp_path):
    generate(tmp_path, "--rows", "2000", "--seed", "7")
    rows = read(MASTER, tmp_path)
    assert len(rows) == 2000
    assert (tmp_path / MASTER).read_bytes() != (DATA / MASTER).read_bytes()
    report = json.loads((tmp_path / "defects.json").read_text(encoding="utf-8"))
    assert report["seed"] == 7 and report["rows"] == 2000


# (b) the committed data and its documented defects -----------------------------------------------


def test_shape_and_formats(master):
    assert 4000 <= len(master) <= 6000
    assert sum((DATA / name).stat().st_size for name in TABLES) < 2_000_000
    assert len({r["Transaction ID"] for r in master}) == len(master)
    dates = [datetime.strptime(r["Transaction Date"], "%m/%d/%Y") for r in master]
    assert any(d.day > 12 for d in dates)  # MM/DD/YYYY is unambiguous
    assert min(dates).year == 2023 and max(dates).year == 2024
    skus = [p["SKU"] for p in read("product_service_table.csv")]
    assert all(len(s) == 6 and s.isdigit() and s.startswith("0") for s in skus)
    assert len(read("customer_table.csv")) >= 100 and len(read("payment_method.csv")) == 6


def test_null_tokens(master, defects):
    memo = defects[("null_token", MASTER, "Memo")]
    assert sum(r["Memo"] == "--" for r in master) == memo["count"] > 0
    pm = defects[("null_token", MASTER, "Payment Method")]
    assert sorted(r["Transaction ID"] for r in master if r["Payment Method"] == "--") == pm["rows"]
    assert pm["count"] == len(pm["rows"]) == 10
    methods = {m["Payment Method"] for m in read("payment_method.csv")}
    assert {r["Payment Method"] for r in master} - methods == {"", "--"}
    phone = defects[("null_token", "customer_table.csv", "Phone")]
    customers = read("customer_table.csv")
    assert [c["Customer ID"] for c in customers if c["Phone"] == "--"] == phone["rows"]


def test_unparseable_amounts_are_exactly_the_recorded_ones(master, defects):
    entry = defects[("unparseable_amount", MASTER, "Amount")]
    broken = {r["Transaction ID"]: r["Amount"] for r in master if r["Amount"] and not parses(r["Amount"])}
    assert broken == dict(zip(entry["rows"], entry["values"], strict=True))
    assert 5 <= entry["count"] == len(broken) <= 8
    by_id = {r["Transaction ID"]: r for r in master}
    for txn, expected in zip(entry["rows"], entry["expected"], strict=True):  # Debit/Credit left intact
        row = by_id[txn]
        assert abs(num(row["Debit"]) - num(row["Credit"]) - float(expected)) < 0.005


def test_amount_identities(master):
    for r in master:
        if not parses(r["Amount"]):
            continue
        amount = float(r["Amount"])
        assert bool(r["Debit"]) != bool(r["Credit"]), r["Transaction ID"]
        assert abs(amount - (num(r["Debit"]) - num(r["Credit"]))) < 0.005, r["Transaction ID"]
        if r["Product/Service"]:
            assert abs(amount - int(r["Quantity"]) * float(r["Rate"])) < 0.005, r["Transaction ID"]
        if r["Open Balance"]:
            assert 0 <= float(r["Open Balance"]) <= amount, r["Transaction ID"]


def test_orphan_customer(master, defects):
    entry = defects[("orphan_reference", MASTER, "Customer")]
    known = {c["Customer"] for c in read(entry["references"]["file"])}
    (orphan,) = set(entry["values"])
    assert orphan not in known
    assert [r["Transaction ID"] for r in master if r["Customer"] == orphan] == entry["rows"]
    assert 3 <= entry["count"] == len(entry["rows"]) <= 5
    # Apart from the documented whitespace variants, every other customer reference resolves.
    padded = set(defects[("whitespace", MASTER, "Customer")]["values"])
    assert {r["Customer"] for r in master if r["Customer"]} - known == {orphan} | padded


def test_outlier(master, defects):
    entry = defects[("outlier", MASTER, "Amount")]
    (txn,), (value,) = entry["rows"], entry["values"]
    row = next(r for r in master if r["Transaction ID"] == txn)
    assert row["Transaction Type"] == "Invoice" and row["Amount"] == row["Debit"] == value
    others = sorted(abs(float(r["Amount"])) for r in master if parses(r["Amount"]) and r["Transaction ID"] != txn)
    assert float(value) > 10 * others[-1]


def test_case_variant_and_whitespace(master, defects):
    case = defects[("case_variant", MASTER, "Transaction Type")]
    assert [r["Transaction ID"] for r in master if r["Transaction Type"] == "invoice"] == case["rows"]
    types = Counter(r["Transaction Type"] for r in master)
    assert set(types) == {"Invoice", "Payment", "Bill", "Bill Payment", "Sales Receipt", "Journal Entry",
                          "Expense", "Credit Memo", "invoice"}
    ws = defects[("whitespace", MASTER, "Customer")]
    known = {c["Customer"] for c in read("customer_table.csv")}
    by_id = {r["Transaction ID"]: r for r in master}
    for txn, value, canonical in zip(ws["rows"], ws["values"], ws["canonical"], strict=True):
        assert by_id[txn]["Customer"] == value != value.strip() == canonical
        assert canonical in known
    padded = [r["Transaction ID"] for r in master if r["Customer"] != r["Customer"].strip()]
    assert padded == ws["rows"]
