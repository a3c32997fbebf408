"""HubSpot's CSV exports of companies, deals and line items, headed by property labels.

HubSpot writes each property's label as the column header ("Record ID", "Company name",
"Country/Region") and each association as a column of record IDs separated by semicolons
("Associated Company IDs"). Companies become customer parties with a bill-to entity. A deal
in a "Closed Won" stage becomes a contract whose first version contains the deal's line items.
The other deals are not contracts yet and are skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

from billguard.imports.records import (
    ContractIn,
    CustomerIn,
    ImportBatch,
    LineIn,
    Problems,
    check_unique,
    parse_country,
    parse_currency,
    parse_date,
    parse_decimal,
    place_text,
    require_value,
)
from billguard.imports.salesforce import _add_months, _line_codes
from billguard.imports.tables import Table, read_csv

SOURCE = "hubspot"
LAYOUT = "HubSpot's export (property labels as headers)"

COMPANY_COLUMNS = ["Record ID", "Company name", "Country/Region"]
DEAL_COLUMNS = ["Record ID", "Deal Name", "Deal Stage", "Close Date", "Associated Company IDs"]
# NOTE: the association columns and the labels "Billing start date" and "Currency" follow
# HubSpot's naming but were not checked against an export file that HubSpot wrote.
LINE_ITEM_COLUMNS = ["Record ID", "Name", "Quantity", "Unit price", "Associated Deal IDs"]

# HubSpot's billing frequency options and the Billguard cadence of each; an empty frequency
# is a one-time fee.
FREQUENCIES = {"monthly": "monthly", "quarterly": "quarterly", "annually": "yearly"}


def read_exports(
    files: dict[str, tuple[str, bytes]], *, problems: Problems, currency: str | None
) -> ImportBatch:
    """Read the companies, deals and line items exports (kind -> (file name, content))."""
    batch = ImportBatch(source=SOURCE, code_prefix="HS")
    tables: dict[str, Table] = {}
    columns = {"companies": COMPANY_COLUMNS, "deals": DEAL_COLUMNS, "line_items": LINE_ITEM_COLUMNS}
    for kind, (name, data) in files.items():
        table = read_csv(name, data, problems)
        if table is not None and table.require_columns(columns[kind], problems, layout=LAYOUT):
            tables[kind] = table
    if "companies" in tables:
        batch.customers = _companies(tables["companies"], problems)
    if "deals" in tables:
        company_ids = {customer.external_id for customer in batch.customers}
        lines = _line_items(tables["line_items"], problems) if "line_items" in tables else {}
        batch.contracts = _deals(tables["deals"], problems, company_ids, lines, currency)
    return batch


def _companies(table: Table, problems: Problems) -> list[CustomerIn]:
    check_unique(
        problems,
        [(r.get("Record ID", ""), table.file, n) for n, r in table.rows],
        column="Record ID",
        what="company",
    )
    customers = []
    for number, row in table.rows:
        external_id = require_value(
            table.cell(number, row, "Record ID"), problems, what="record ID"
        )
        name = require_value(table.cell(number, row, "Company name"), problems, what="company name")
        country = parse_country(table.cell(number, row, "Country/Region"), problems)
        if external_id is None or name is None or country is None:
            continue
        customers.append(
            CustomerIn(
                external_id=external_id,
                place=place_text(table.file, number),
                name=name,
                country=country,
                street=row.get("Street Address", "").strip(),
                city=row.get("City", "").strip(),
                postcode=row.get("Postal Code", "").strip(),
                subdivision=row.get("State/Region", "").strip(),
            )
        )
    return customers


def _line_items(
    table: Table, problems: Problems
) -> dict[str, list[tuple[LineIn, dict[str, object]]]]:
    """Return the line items by deal ID, each with its cadence, term in months and start."""
    check_unique(
        problems,
        [(r.get("Record ID", ""), table.file, n) for n, r in table.rows],
        column="Record ID",
        what="line item",
    )
    by_deal: dict[str, list[tuple[LineIn, dict[str, object]]]] = defaultdict(list)
    for number, row in table.rows:
        cell = lambda column, n=number, r=row: table.cell(n, r, column)  # noqa: E731
        quantity = parse_decimal(
            cell("Quantity"), problems, required=True, positive=True, what="quantity"
        )
        price = parse_decimal(cell("Unit price"), problems, required=True, what="unit price")
        frequency = row.get("Billing frequency", "").strip().lower()
        if frequency and frequency not in FREQUENCIES:
            cell("Billing frequency").problem(
                problems,
                f"billing frequency {row['Billing frequency']!r} has no Billguard cadence.",
                "Use Monthly, Quarterly or Annually, or leave it empty for a one-time fee.",
            )
        months = _term_months(cell("Term").text)
        if months is False:
            cell("Term").problem(
                problems,
                f"term {row.get('Term')!r} is not a number of months.",
                "Write it as HubSpot stores it (P12M, P1Y) or as a whole number of months.",
            )
        start = parse_date(cell("Billing start date"), problems)
        deals = [d.strip() for d in row.get("Associated Deal IDs", "").split(";") if d.strip()]
        if len(deals) != 1:
            cell("Associated Deal IDs").problem(
                problems,
                "the line item is associated with no deal."
                if not deals
                else f"the line item is associated with {len(deals)} deals.",
                "Associate each line item with exactly one deal.",
            )
        if quantity is None or price is None or len(deals) != 1 or months is False:
            continue
        sku = row.get("SKU", "").strip()
        line = LineIn(
            line_code=row["Record ID"].strip(),
            place=place_text(table.file, number),
            description=(row.get("Name", "").strip() or sku or row["Record ID"])[:200],
            quantity=quantity,
            unit_price=price,
            product_code=sku[:40],
            kind="recurring_fixed" if frequency else "milestone",
        )
        by_deal[deals[0]].append(
            (line, {"cadence": FREQUENCIES.get(frequency, ""), "months": months, "start": start})
        )
    return by_deal


def _deals(
    table: Table,
    problems: Problems,
    company_ids: set[str],
    lines: dict[str, list[tuple[LineIn, dict[str, object]]]],
    currency: str | None,
) -> list[ContractIn]:
    check_unique(
        problems,
        [(r.get("Record ID", ""), table.file, n) for n, r in table.rows],
        column="Record ID",
        what="deal",
    )
    contracts = []
    for number, row in table.rows:
        if row.get("Deal Stage", "").strip().lower() != "closed won":
            continue
        cell = lambda column, n=number, r=row: table.cell(n, r, column)  # noqa: E731
        external_id = require_value(cell("Record ID"), problems, what="record ID")
        companies = [
            c.strip() for c in row.get("Associated Company IDs", "").split(";") if c.strip()
        ]
        company = companies[0] if companies else ""
        if company not in company_ids:
            cell("Associated Company IDs").problem(
                problems,
                f"company {company!r} is not in the companies export."
                if company
                else "the deal is associated with no company.",
                "Export the deal's company too, or associate the deal with a company.",
            )
        close = parse_date(cell("Close Date"), problems, required=True)
        if "Currency" in row:
            deal_currency = parse_currency(cell("Currency"), problems)
        elif currency is None:
            cell("Currency").problem(
                problems,
                "the export has no Currency column and no currency was given.",
                "Add the Currency property to the export, or give --currency EUR.",
            )
            deal_currency = None
        else:
            deal_currency = currency
        items = lines.get(external_id or "", [])
        if external_id and not items:
            cell("Record ID").problem(
                problems,
                f"closed-won deal {external_id} has no line items.",
                "Add its line items to the line items export, or move the deal out of Closed Won.",
            )
        cadences = {str(extra["cadence"]) for _, extra in items if extra["cadence"]}
        if len(cadences) > 1:
            cell("Record ID").problem(
                problems,
                f"the deal's line items are billed {' and '.join(sorted(cadences))}.",
                "A Billguard contract has one billing cadence: split the deal by frequency.",
            )
        if None in (external_id, close, deal_currency) or company not in company_ids or not items:
            continue
        assert external_id is not None
        assert close is not None
        assert deal_currency is not None
        starts = [extra["start"] for _, extra in items if isinstance(extra["start"], dt.date)]
        start = min(starts) if starts else close
        terms = [extra["months"] for _, extra in items if isinstance(extra["months"], int)]
        contracts.append(
            ContractIn(
                external_id=external_id,
                place=place_text(table.file, number),
                number=f"HS-{external_id}",
                customer_ref=company,
                start=start,
                end_date=_add_months(start, max(terms)) - dt.timedelta(days=1) if terms else None,
                currency=deal_currency,
                title=row.get("Deal Name", "").strip()[:200],
                cadence=cadences.pop() if cadences else "",
                lines=_line_codes([line for line, _ in items]),
            )
        )
    return contracts


def _term_months(text: str) -> int | bool | None:
    """Return the term in months (P12M, P1Y, P1Y6M or 12), None when empty, False when bad."""
    text = text.strip().upper()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    match = re.fullmatch(r"P(?:(\d+)Y)?(?:(\d+)M)?", text)
    if match is None or not any(match.groups()):
        return False
    return int(match.group(1) or 0) * 12 + int(match.group(2) or 0)
