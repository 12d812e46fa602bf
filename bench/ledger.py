"""A small clean ledger, generated from a seed, for tests of the corruption injector (bench/inject.py)
and of the pipeline's response to it: six tables shaped like the finance data (accounts, journal
entries and their balanced lines with net_amount = debit - credit, vendor invoices, payments that
copy the invoice amount, employee expenses), and a ground_truth.json in the finance data's format (column types,
primary and foreign keys), which is what the injector reads.

    python bench/ledger.py OUT [--seed 1] [--entries 600]

Stdlib only and byte-for-byte deterministic for a (seed, entries). Amounts are log-normal over
several orders of magnitude, so their first digits follow Benford's law; every entry balances.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from datetime import date, timedelta
from pathlib import Path
from random import Random

START = date(2024, 1, 1)
ACCOUNTS = [(1110, "Operating Account", "asset"), (1120, "Savings Account", "asset"),
            (1210, "Trade Receivables", "asset"), (1220, "Other Receivables", "asset"),
            (2110, "Trade Payables", "liability"), (2120, "Accrued Expenses", "liability"),
            (3100, "Share Capital", "equity"), (4110, "Product Revenue", "revenue"),
            (4120, "Service Revenue", "revenue"), (5110, "Cost of Goods", "expense"),
            (5210, "Salaries", "expense"), (5220, "Rent", "expense"), (5230, "Utilities", "expense"),
            (5240, "Travel", "expense"), (5250, "Software", "expense")]
# entry types: (weight, debited accounts, credited accounts); the weights keep every account on the side of
# its normal balance (cash and receivables debited more than credited, payables credited more than debited)
ENTRY_TYPES = [(45, [1110, 1210], [4110, 4120]),  # a sale, paid or on account
               (37, [5110, 5210, 5220, 5230, 5240, 5250], [1110, 2110, 2120]),  # an expense, paid or accrued
               (8, [2110, 2120], [1110]),  # a payable settled
               (10, [1110], [1210])]  # a receivable collected
PEOPLE = ["akim", "bnovak", "cdiaz", "dlee", "eberg"]
METHODS = ["ach", "wire", "check", "card"]
TERMS = [0, 30, 60]


def cents(rng: Random) -> int:
    return max(100, round(rng.lognormvariate(math.log(900), 1.6) * 100))


def money(c: int) -> str:
    return f"{c / 100:.2f}"


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def entries(rng: Random, n: int) -> tuple[list[list[str]], list[list[str]]]:
    """Entries of two or three lines that balance: one debit, and one credit or two that split it."""
    heads: list[list[str]] = []
    lines: list[list[str]] = []
    for e in range(1, n + 1):
        entry = f"JE-{e:05d}"
        day = START + timedelta(days=rng.randrange(366))
        heads.append([entry, day.isoformat(), f"Posting {rng.randrange(1000, 9999)}", "posted", rng.choice(PEOPLE)])
        total = cents(rng)
        parts = [total] if rng.random() < 0.6 else [total // 3, total - total // 3]
        _, debited, credited = rng.choices(ENTRY_TYPES, [t[0] for t in ENTRY_TYPES])[0]
        sides = [(rng.choice(debited), total, 0)] + [(rng.choice(credited), 0, p) for p in parts]
        for account, d, c in sides:
            lines.append([f"JL-{len(lines) + 1:06d}", entry, str(account), money(d), money(c), "USD", money(d - c)])
    return heads, lines


def invoices(rng: Random, heads: list[list[str]], n: int) -> tuple[list[list[str]], list[list[str]]]:
    rows: list[list[str]] = []
    pays: list[list[str]] = []
    for i in range(1, n + 1):
        day = START + timedelta(days=rng.randrange(366))
        amount = cents(rng)
        status = rng.choices(["paid", "open"], [85, 15])[0]
        rows.append([f"INV-{i:05d}", f"V-{rng.randrange(1, 21):03d}", day.isoformat(), money(amount), "USD", status,
                     rng.choice(heads)[0]])
        if status == "paid":
            paid = day + timedelta(days=rng.choice(TERMS) + rng.randrange(10))
            pays.append([f"PAY-{len(pays) + 1:05d}", f"INV-{i:05d}", paid.isoformat(), money(amount), "USD",
                         rng.choice(METHODS)])
    return rows, pays


def expenses(rng: Random, n: int) -> list[list[str]]:
    accounts = [a for a, _, kind in ACCOUNTS if kind == "expense"]
    return [[f"EXP-{i:05d}", (START + timedelta(days=rng.randrange(366))).isoformat(), str(rng.choice(accounts)),
             money(cents(rng)), "USD", rng.choice(PEOPLE)] for i in range(1, n + 1)]


TABLES = {
    "chart_of_accounts": ["account_id", "name", "account_type", "currency"],
    "journal_entries": ["entry_id", "date", "description", "status", "created_by"],
    "journal_lines": ["line_id", "entry_id", "account_id", "debit", "credit", "currency", "net_amount"],
    "invoices": ["invoice_id", "vendor_id", "date", "amount", "currency", "status", "entry_id"],
    "payments": ["payment_id", "invoice_id", "date", "amount", "currency", "method"],
    "expenses": ["expense_id", "date", "account_id", "amount", "currency", "employee"],
}
KINDS = {"account_id": "integer", "debit": "float", "credit": "float", "net_amount": "float", "amount": "float",
         "date": "date"}
KEYS = {"chart_of_accounts": "account_id", "journal_entries": "entry_id", "journal_lines": "line_id",
        "invoices": "invoice_id", "payments": "payment_id", "expenses": "expense_id"}
FOREIGN_KEYS = [("journal_lines.entry_id", "journal_entries.entry_id"),
                ("journal_lines.account_id", "chart_of_accounts.account_id"),
                ("invoices.entry_id", "journal_entries.entry_id"), ("payments.invoice_id", "invoices.invoice_id"),
                ("expenses.account_id", "chart_of_accounts.account_id")]


def ground_truth(seed: int, rows: dict[str, int]) -> dict:
    return {
        "source": "bench/ledger.py", "seed": seed, "strategy": "clean",
        "tables": {t: {"file": f"{t}.csv", "rows": rows[t],
                       "columns": {c: {"csv_type": KINDS.get(c, "string")} for c in header}}
                   for t, header in TABLES.items()},
        "primary_keys": [{"table": t, "columns": [c]} for t, c in KEYS.items()],
        "foreign_keys": [{"child": c, "parent": p} for c, p in FOREIGN_KEYS],
        "design_nulls_in_clean_data": {},
    }


def make_ledger(out: Path, seed: int = 1, entries_count: int = 600) -> dict[str, int]:
    """Write the six tables and ground_truth.json to `out`; return the rows per table."""
    rng = Random(f"ledger/{seed}")
    heads, lines = entries(rng, entries_count)
    invs, pays = invoices(rng, heads, entries_count * 2 // 3)
    accounts = [[str(a), name, kind, "USD"] for a, name, kind in ACCOUNTS]
    data = {"chart_of_accounts": accounts, "journal_entries": heads, "journal_lines": lines, "invoices": invs,
            "payments": pays, "expenses": expenses(rng, entries_count)}
    out.mkdir(parents=True, exist_ok=True)
    for table, rows in data.items():
        (out / f"{table}.csv").write_text(csv_text(TABLES[table], rows), encoding="utf-8")
    counts = {t: len(r) for t, r in data.items()}
    (out / "ground_truth.json").write_text(json.dumps(ground_truth(seed, counts), indent=1) + "\n")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--entries", type=int, default=600)
    args = parser.parse_args(argv)
    print(make_ledger(args.out, args.seed, args.entries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
