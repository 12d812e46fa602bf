#!/usr/bin/env python3
"""Seeded generator for the bundled finance example (a small-business ledger export).

Writes five CSV tables in the style of a QuickBooks "transaction detail" export:
Master_txn_table.csv (fact table, streamed row by row so a million rows stay cheap),
customer_table.csv, vendor_table.csv, product_service_table.csv and payment_method.csv,
plus defects.json, the machine-readable list of the defects planted on purpose.

Output is byte-for-byte deterministic for a given (seed, rows): all randomness comes
from two `random.Random` instances (one for the data, one for the defects, so that
planting defects never shifts the data stream), dates come from a fixed calendar,
and money is computed in integer cents. Stdlib only.

    python examples/generate_finance_example.py [--out DIR] [--seed N] [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from bisect import bisect
from collections import namedtuple
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path
from random import Random

DEFAULT_ROWS, DEFAULT_SEED = 5000, 42
DEFAULT_OUT = Path(__file__).resolve().parent / "finance_example"
START, END = date(2023, 1, 1), date(2024, 12, 31)
MASTER = "Master_txn_table.csv"
NULL_TOKEN = "--"
ORPHAN_CUSTOMER = "Northwind Traders Ltd"  # "Northwind" is in no name vocabulary below
OUTLIER_CENTS = 98_765_432  # 987654.32
MAX_NATURAL_CENTS = 6_000_000  # 60,000.00: keeps the planted outlier unmistakable


def words(text: str) -> list[str]:
    return text.split("|")


MASTER_COLUMNS = ["Transaction ID", "Transaction Date", "Due Date", "Transaction Type", "Account",
                  "Quantity", "Rate", "Amount", "Debit", "Credit", "Open Balance", "Customer", "Vendor",
                  "Product/Service", "Payment Method", "Memo"]
CUSTOMER_COLUMNS = ["Customer ID", "Customer", "Email", "Phone", "Billing City", "Billing State", "Terms",
                    "Created", "Balance"]
VENDOR_COLUMNS = ["Vendor ID", "Vendor", "Email", "Phone", "City", "1099 Vendor", "Balance"]
PRODUCT_COLUMNS = ["Product ID", "Product/Service", "Type", "Sales Price", "Purchase Cost", "SKU", "Taxable"]

# Name vocabularies ("|"-separated). Customer and vendor trades are disjoint: the name spaces never overlap.
FIRST = words("Acme|Apex|Atlas|Beacon|Birchwood|Bluestone|Brightline|Cascade|Cedar|Centennial|Clearwater|"
              "Cobalt|Copperfield|Crescent|Crestview|Cypress|Eastgate|Evergreen|Fairview|Falcon|Foxglove|"
              "Granite|Greenfield|Harbor|Highland|Horizon|Ironwood|Juniper|Keystone|Lakeside|Landmark|"
              "Liberty|Magnolia|Maple|Meadowbrook|Meridian|Millstone|Monarch|Oakridge|Orchard|Pinnacle|"
              "Pioneer|Prairie|Quarry|Redwood|Riverbend|Rockport|Sagebrush|Sterling|Stonegate|Summit|"
              "Sunrise|Tidewater|Timberline|Trident|Valley|Vanguard|Westfield|Willow|Yellowstone")
CUSTOMER_TRADES = words("Bakery|Dental Care|Landscaping|Consulting|Auto Repair|Fitness|Veterinary Clinic|"
                        "Plumbing|Architecture|Catering|Florist|Legal|Realty|Pharmacy|Printing|Roofing|"
                        "Salon|Tutoring|Brewing|Cafe|Design Studio|Electric|Flooring|Hardware|Marketing|"
                        "Media|Optometry|Pet Supply|Photography|Software|Storage|Tailoring|Travel|Wellness|"
                        "Yoga Studio|Accounting|Bistro|Books|Cleaning|Construction|Daycare|Engineering|"
                        "Farms|Garden Center|Interiors")
VENDOR_TRADES = words("Supply|Wholesale|Distributors|Logistics|Paper Products|Office Solutions|Packaging|"
                      "Freight|Utilities|Telecom|Insurance|Staffing|IT Services|Equipment Rental|"
                      "Janitorial")
FORMS = words("LLC|Inc|Co|Corp|Ltd|Group|Partners|& Sons|Associates|PLLC")
GOODS_ADJ = words("Standard|Deluxe|Compact|Heavy-Duty|Premium|Economy|Classic|Ergonomic|Wireless|Portable|"
                  "Industrial|Organic|Recycled|Stainless|Bamboo|Modular|Insulated|Waterproof|Rechargeable|"
                  "Adjustable")
GOODS_NOUN = words("Desk|Chair|Lamp|Shelf|Cabinet|Printer|Monitor|Keyboard|Toner|Paper|Notebook|Mug|"
                   "Backpack|Filter|Valve|Pump|Sensor|Cable|Router|Battery")
SERVICE_ADJ = words("Installation|Consulting|Maintenance|Repair|Training|Design|Delivery|Cleaning|Setup|"
                    "Inspection|Support|Audit")
SERVICE_NOUN = words("Service|Hours|Package|Visit|Retainer|Session|Plan|Call-out|Project|Review")
CITIES = [("Austin", "TX"), ("Denver", "CO"), ("Portland", "OR"), ("Columbus", "OH"), ("Raleigh", "NC"),
          ("Madison", "WI"), ("Tucson", "AZ"), ("Boise", "ID"), ("Richmond", "VA"), ("Omaha", "NE"),
          ("Sacramento", "CA"), ("Tampa", "FL"), ("Albany", "NY"), ("Spokane", "WA"), ("Savannah", "GA"),
          ("Des Moines", "IA"), ("Burlington", "VT"), ("Santa Fe", "NM"), ("Duluth", "MN"), ("Provo", "UT")]
TERMS = [("Due on receipt", 0, 15), ("Net 15", 15, 25), ("Net 30", 30, 50), ("Net 60", 60, 10)]
PAYMENT_METHODS = [("Cash", "No"), ("Check", "No"), ("Credit Card", "Yes"), ("ACH", "No"),
                   ("Wire Transfer", "No"), ("American Express", "Yes")]
PM_WEIGHTS = {"Payment": [5, 40, 15, 30, 8, 2], "Sales Receipt": [30, 15, 35, 5, 0, 15],
              "Expense": [15, 10, 50, 5, 0, 20], "Bill Payment": [0, 50, 0, 40, 10, 0]}
AR, AP = "Accounts Receivable (A/R)", "Accounts Payable (A/P)"
EXPENSE_ACCOUNTS = ["Office Expenses", "Rent or Lease", "Utilities", "Advertising & Marketing",
                    "Legal & Professional Fees", "Travel", "Meals & Entertainment", "Insurance",
                    "Repairs & Maintenance"]
# Journal entries: (account, sign of its normal balance: +1 debit, -1 credit).
JOURNAL_ACCOUNTS = [("Depreciation Expense", 1), ("Accumulated Depreciation", -1), ("Payroll Expenses", 1),
                    ("Payroll Liabilities", -1), ("Sales of Product Income", -1), ("Checking", -1)]
# type: (relative frequency, party side C/V, sign +1 debit / -1 credit, accounts, median amount, sigma).
# Invoices and sales receipts are product lines (median None); 70% of bills are too.
TYPES = {"Invoice": (30, "C", 1, [AR], None, None),
         "Payment": (22, "C", -1, [AR], 900, 1.1),
         "Bill": (14, "V", 1, EXPENSE_ACCOUNTS, 350, 1.1),
         "Bill Payment": (11, "V", 1, [AP], 1200, 1.1),
         "Sales Receipt": (9, "C", 1, ["Undeposited Funds", "Checking"], None, None),
         "Expense": (8, "V", 1, EXPENSE_ACCOUNTS, 75, 1.1),
         "Journal Entry": (4, "", None, JOURNAL_ACCOUNTS, 1200, 1.1),
         "Credit Memo": (2, "C", -1, [AR], 120, 0.9)}
MEMOS = {"C": ["Thank you for your business", "PO #{n}", "Order {n}", "Partial payment, balance to follow",
                "Rush delivery", "Per agreement {n}"],
         "V": ["Invoice {n}", "Monthly service", "Replacement parts, see ticket {n}", "Reimbursable"],
         "": ["Q{q} adjustment", "Month-end accrual", "Depreciation, Q{q}", "Reclass per accountant"]}
WEEKDAY = [1.0, 1.05, 1.0, 1.0, 0.95, 0.25, 0.1]  # Mon..Sun: small businesses rarely book on weekends
MONTH = [0.85, 0.85, 1.0, 1.0, 1.05, 1.0, 0.9, 0.9, 1.05, 1.1, 1.15, 1.3]  # summer dip, Q4 peak

Party = namedtuple("Party", "id name terms_days row")
Product = namedtuple("Product", "id name type price cost sku taxable")


class Picker:
    """Weighted choice by bisecting cumulative weights: much cheaper per call than Random.choices."""

    def __init__(self, items, weights):
        self.items, self.cum = list(items), list(accumulate(weights))

    def __call__(self, rng):
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def us_date(d: date) -> str:
    return f"{d.month:02d}/{d.day:02d}/{d.year}"


def lognormal_cents(rng, median, sigma):
    """Log-normal amounts span orders of magnitude, so first digits roughly follow Benford's law."""
    while True:
        cents = round(rng.lognormvariate(math.log(median), sigma) * 100)
        if cents <= MAX_NATURAL_CENTS:  # redraw rather than clip: no spike at the cap
            return max(cents, 1)


def quantity(rng, median, sigma, cap):
    return min(cap, max(1, round(rng.lognormvariate(math.log(median), sigma))))


def zipf_picker(rng, items):
    """A few customers/products account for most activity, as in real ledgers."""
    weights = [1 / (k + 1) ** 0.8 for k in range(len(items))]
    rng.shuffle(weights)  # popularity is unrelated to ID order
    return Picker(range(len(items)), weights)


def company_names(rng, n, trades):
    # Sample indices into the name grid (not the grid itself): unique names, cheap even for 20,000.
    per_first = len(trades) * len(FORMS)
    names = []
    for idx in rng.sample(range(len(FIRST) * per_first), n):
        first, rest = divmod(idx, per_first)
        trade, form = divmod(rest, len(FORMS))
        names.append(f"{FIRST[first]} {trades[trade]} {FORMS[form]}")
    return names


def contact(rng, name):
    slug = "".join(ch for ch in name.lower().rsplit(" ", 1)[0] if ch.isalnum())
    email = f"{rng.choice(['billing', 'accounts', 'info', 'office', 'ap'])}@{slug}.com"
    return email, f"({rng.randint(201, 989)}) {rng.randint(200, 989)}-{rng.randint(0, 9999):04d}"


def make_parties(rng, n, trades, prefix, customer):
    terms = Picker(TERMS, [t[2] for t in TERMS])
    width = max(4, len(str(n)))
    parties = []
    for k, name in enumerate(company_names(rng, n, trades), 1):
        email, phone = contact(rng, name)
        city, state = rng.choice(CITIES)
        label, days, _ = terms(rng)
        if customer:
            created = date(2018, 1, 1) + timedelta(rng.randrange(5 * 365))  # before the ledger starts
            row = [f"{prefix}{k:0{width}d}", name, email, phone, city, state, label, created.isoformat()]
        else:
            row = [f"{prefix}{k:0{width}d}", name, email, phone, city, "Yes" if rng.random() < 0.3 else "No"]
        parties.append(Party(row[0], name, days, row))
    return parties


def make_products(rng, n):
    n_service, n_noninv = round(n * 0.35), round(n * 0.2)  # fixed shares: the name pools always suffice
    n_inv = n - n_service - n_noninv
    kinds = rng.sample(["Service"] * n_service + ["Non-inventory"] * n_noninv + ["Inventory"] * n_inv, n)
    goods = rng.sample([f"{a} {b}" for a in GOODS_ADJ for b in GOODS_NOUN], n - n_service)
    services = rng.sample([f"{a} {b}" for a in SERVICE_ADJ for b in SERVICE_NOUN], n_service)
    skus = rng.sample(range(1, 100_000), n)  # six digits, always a leading zero: "000421"
    products = []
    for k, kind in enumerate(kinds, 1):
        if kind == "Service":
            name, price, cost = services.pop(), lognormal_cents(rng, 95, 0.6), None
        else:
            name, price = goods.pop(), lognormal_cents(rng, 45, 1.1)
            cost = round(price * rng.uniform(0.45, 0.75))
        goods_taxed = rng.random() < 0.9  # goods are usually taxable, services usually not
        taxable = "Yes" if goods_taxed == (kind != "Service") else "No"
        products.append(Product(f"P{k:04d}", name, kind, price, cost, f"{skus[k - 1]:06d}", taxable))
    return products


class Ledger:
    """The dimension tables plus the pickers the fact-row generator draws from."""

    def __init__(self, rng, rows):
        self.customers = make_parties(rng, min(20_000, max(20, rows // 40)), CUSTOMER_TRADES, "C", True)
        self.vendors = make_parties(rng, min(5_000, max(10, rows // 80)), VENDOR_TRADES, "V", False)
        self.products = make_products(rng, min(250, max(15, rows // 125)))
        goods = [p for p in self.products if p.type != "Service"]
        self.pick_customer = zipf_picker(rng, self.customers)
        self.pick_vendor = zipf_picker(rng, self.vendors)
        self.pick_product = zipf_picker(rng, self.products)
        self.pick_goods = Picker(goods, [1] * len(goods))
        self.pick_type = Picker(TYPES, [spec[0] for spec in TYPES.values()])
        self.pick_pm = {t: Picker([m for m, _ in PAYMENT_METHODS], w) for t, w in PM_WEIGHTS.items()}
        self.open_cents = {"C": [0] * len(self.customers), "V": [0] * len(self.vendors)}


def build_calendar(rng, rows):
    """Spread rows over the two years: weekday weighting, monthly seasonality, 12% growth in 2024."""
    days = [START + timedelta(n) for n in range((END - START).days + 1)]
    weights = [WEEKDAY[d.weekday()] * MONTH[d.month - 1] * (1.12 if d.year == 2024 else 1.0)
               * rng.uniform(0.85, 1.15) for d in days]
    total = sum(weights)
    exact = [rows * w / total for w in weights]
    counts = [int(x) for x in exact]
    # Largest-remainder rounding: exactly `rows` in total; ties broken by day order.
    for i in sorted(range(len(days)), key=lambda i: (counts[i] - exact[i], i))[: rows - sum(counts)]:
        counts[i] += 1
    return zip(days, counts, strict=True)


def product_line(rng, r, p, sale):
    if sale:
        q = quantity(rng, 4 if p.type == "Service" else 3, 0.8, 250)
        rate = p.price if rng.random() > 0.08 else round(p.price * 0.9)  # occasional 10% discount
    else:
        q, rate = quantity(rng, 15, 1.0, 2000), p.cost
    q = max(1, min(q, MAX_NATURAL_CENTS // rate))  # no natural line rivals the planted outlier
    r["Product/Service"], r["Quantity"], r["Rate"] = p.name, str(q), money(rate)
    return q * rate  # exact in cents, so Amount == Quantity * Rate to the cent


def open_balance(rng, day, cents):
    """Recent invoices/bills are often unpaid, old ones almost never."""
    age = (END - day).days
    p_full, p_part = (0.55, 0.2) if age < 60 else (0.08, 0.05) if age < 180 else (0.02, 0.02)
    u = rng.random()
    return cents if u < p_full else round(cents * rng.uniform(0.1, 0.9)) if u < p_full + p_part else 0


def make_row(rng, led, txn_id, day, ttype, outlier=False):
    _, side, sign, accounts, median, sigma = TYPES[ttype]
    r = dict.fromkeys(MASTER_COLUMNS, "")
    r["Transaction ID"], r["Transaction Date"], r["Transaction Type"] = txn_id, us_date(day), ttype
    r["Account"] = rng.choice(accounts)
    if sign is None:  # journal entry: the sign follows the account's normal balance
        r["Account"], sign = r["Account"]
    if side:
        idx = (led.pick_customer if side == "C" else led.pick_vendor)(rng)
        party = (led.customers if side == "C" else led.vendors)[idx]
        r["Customer" if side == "C" else "Vendor"] = party.name
    if outlier:  # a one-off contract invoice without a product line, so Quantity*Rate stays typical
        cents = OUTLIER_CENTS
    elif median is None:
        cents = product_line(rng, r, led.products[led.pick_product(rng)], sale=True)
    elif ttype == "Bill" and rng.random() < 0.7:
        p = led.pick_goods(rng)
        cents = product_line(rng, r, p, sale=False)
        r["Account"] = "Cost of Goods Sold" if p.type == "Inventory" else "Supplies & Materials"
    else:
        cents = lognormal_cents(rng, median, sigma)
    r["Amount"] = money(sign * cents)
    r["Debit" if sign > 0 else "Credit"] = money(cents)
    if ttype in ("Invoice", "Bill"):
        r["Due Date"] = us_date(day + timedelta(party.terms_days))
        owed = open_balance(rng, day, cents)
        led.open_cents[side][idx] += owed
        r["Open Balance"] = money(owed)
    if ttype in PM_WEIGHTS:
        r["Payment Method"] = led.pick_pm[ttype](rng)
    u = rng.random()
    if u < 0.02:
        r["Memo"] = NULL_TOKEN
    elif u > 0.55:
        memo = rng.choice(MEMOS[side])
        r["Memo"] = memo.format(n=rng.randint(1000, 99999), q=rng.randint(1, 4))
    return r


def dotted_thousands(s):
    sign, (whole, cents) = s[: s.startswith("-")], s.lstrip("-").split(".")
    return f"{sign}{int(whole):,}".replace(",", ".") + "." + cents  # "1234.56" -> "1.234.56"


# Each breaker turns a well-formed amount into text a number parser must reject: (eligible, break).
AMOUNT_BREAKERS = {
    "letter_o": (lambda s: "0" in s, lambda s: s.replace("0", "O", 1)),
    "letter_l": (lambda s: "1" in s, lambda s: s.replace("1", "l", 1)),
    "dotted_thousands": (lambda s: len(s.lstrip("-")) >= 7, dotted_thousands),
    "ref_error": (lambda s: True, lambda s: "#REF!"),
    "value_error": (lambda s: True, lambda s: "#VALUE!"),
    "double_point": (lambda s: True, lambda s: s.replace(".", "..")),
}
# Targeted master-table defects, each planted on the first eligible row at or after a random target.
SLOTS = (["outlier"] + ["orphan"] * 4 + ["case"] * 5 + ["whitespace"] * 3 + ["pm_null"] * 10
         + [f"amount:{k}" for k in AMOUNT_BREAKERS])


def plant(slot, r, drng):
    """Apply one defect to row r if the row is eligible; return (new, old) or None."""
    kind, _, breaker = slot.partition(":")
    col = {"amount": "Amount", "orphan": "Customer", "whitespace": "Customer",
           "case": "Transaction Type", "pm_null": "Payment Method"}.get(kind)
    value, new = r.get(col), None
    if kind == "amount" and AMOUNT_BREAKERS[breaker][0](value):
        new = AMOUNT_BREAKERS[breaker][1](value)
    elif kind == "orphan" and value:  # customer-side rows only
        new = ORPHAN_CUSTOMER
    elif kind == "whitespace" and value:
        new = drng.choice([" {}", "{} ", "  {} "]).format(value)
    elif kind == "case" and value == "Invoice":
        new = "invoice"
    elif kind == "pm_null" and value:
        new = NULL_TOKEN
    if new is not None:  # "outlier" never gets here: it is planted while the row is built
        r[col] = new
        return new, value
    return None


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_master(path, rng, drng, led, rows):
    """Stream the fact table; return {defect kind: [(Transaction ID, new value, old value)]}, memo nulls."""
    width = max(6, len(str(rows)))
    lo = rows // 20  # spread the defects over the body of the file, not its first lines
    targets = sorted(drng.sample(range(lo, max(lo + len(SLOTS), rows * 9 // 10)), len(SLOTS)))
    plan = list(zip(targets, drng.sample(SLOTS, len(SLOTS)), strict=True))
    pending, planted, memo_nulls, n = [], {}, 0, 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(MASTER_COLUMNS)
        for day, count in build_calendar(rng, rows):
            for _ in range(count):
                n += 1
                txn_id = f"TXN-{n:0{width}d}"
                while plan and plan[0][0] <= n:
                    pending.append(plan.pop(0)[1])
                ttype = led.pick_type(rng)
                outlier = ttype == "Invoice" and "outlier" in pending
                r = make_row(rng, led, txn_id, day, ttype, outlier)
                for slot in (["outlier"] if outlier else pending):  # at most one targeted defect per row
                    hit = (r["Amount"], None) if outlier else plant(slot, r, drng)
                    if hit:
                        pending.remove(slot)
                        planted.setdefault(slot.partition(":")[0], []).append((txn_id, *hit))
                        break
                memo_nulls += r["Memo"] == NULL_TOKEN
                w.writerow([r[c] for c in MASTER_COLUMNS])
    return planted, memo_nulls


def entry(kind, column, description, hits, file=MASTER, key="Transaction ID", **extra):
    """One defects.json entry: rows[i] is the key of the row whose `column` holds values[i]."""
    return {"kind": kind, "file": file, "column": column, "description": description, "key_column": key,
            "rows": [h[0] for h in hits], "values": [h[1] for h in hits], **extra, "count": len(hits)}


def defects_report(seed, rows, planted, memo_nulls, phone_hits):
    hit = {k: planted.get(k, []) for k in ("pm_null", "amount", "orphan", "outlier", "case", "whitespace")}
    old = {k: [h[2] for h in v] for k, v in hit.items()}
    return {"generator": "examples/generate_finance_example.py", "seed": seed, "rows": rows, "defects": [
        {"kind": "null_token", "file": MASTER, "column": "Memo", "description": "placeholder '--' instead "
         "of an empty memo (about 2% of rows; rows not listed)", "token": NULL_TOKEN, "count": memo_nulls},
        entry("null_token", "Payment Method", "placeholder '--' instead of a payment method name",
              hit["pm_null"], token=NULL_TOKEN),
        entry("null_token", "Phone", "placeholder '--' instead of a phone number", phone_hits,
              file="customer_table.csv", key="Customer ID", token=NULL_TOKEN),
        entry("unparseable_amount", "Amount", "Amount text no number parser accepts; Debit/Credit intact",
              hit["amount"], expected=old["amount"]),
        entry("orphan_reference", "Customer", "customer name absent from customer_table.csv", hit["orphan"],
              references={"file": "customer_table.csv", "column": "Customer"}, original=old["orphan"]),
        entry("outlier", "Amount", "one contract invoice far above every other amount (no product line; "
              "Debit and Open Balance consistent with it)", hit["outlier"]),
        entry("case_variant", "Transaction Type", "lowercase variant of the category 'Invoice'", hit["case"],
              canonical="Invoice"),
        entry("whitespace", "Customer", "leading/trailing spaces around an existing customer name",
              hit["whitespace"], canonical=old["whitespace"]),
    ]}


def generate(out: Path, seed: int = DEFAULT_SEED, rows: int = DEFAULT_ROWS) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    rng, drng = Random(seed), Random(f"defects-{seed}")
    led = Ledger(rng, rows)
    planted, memo_nulls = write_master(out / MASTER, rng, drng, led, rows)
    phone_hits = []
    for i in sorted(drng.sample(range(len(led.customers)), min(3, len(led.customers)))):
        led.customers[i].row[3] = NULL_TOKEN
        phone_hits.append((led.customers[i].id, NULL_TOKEN))
    write_csv(out / "customer_table.csv", CUSTOMER_COLUMNS,
              (c.row + [money(b)] for c, b in zip(led.customers, led.open_cents["C"], strict=True)))
    write_csv(out / "vendor_table.csv", VENDOR_COLUMNS,
              (v.row + [money(b)] for v, b in zip(led.vendors, led.open_cents["V"], strict=True)))
    write_csv(out / "product_service_table.csv", PRODUCT_COLUMNS,
              ([p.id, p.name, p.type, money(p.price), "" if p.cost is None else money(p.cost), p.sku,
                p.taxable] for p in led.products))
    write_csv(out / "payment_method.csv", ["Payment Method ID", "Payment Method", "Credit Card"],
              ([k, name, cc] for k, (name, cc) in enumerate(PAYMENT_METHODS, 1)))
    report = defects_report(seed, rows, planted, memo_nulls, phone_hits)
    (out / "defects.json").write_bytes((json.dumps(report, indent=1) + "\n").encode())  # "\n" on every OS
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows in Master_txn_table.csv")
    args = ap.parse_args(argv)
    report = generate(args.out, args.seed, args.rows)
    print(f"wrote {args.rows} transactions to {args.out} "
          f"({sum(d['count'] for d in report['defects'])} planted defect cells)")


if __name__ == "__main__":
    main()
