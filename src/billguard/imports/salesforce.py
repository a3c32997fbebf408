"""Salesforce's Data Export: a ZIP of one CSV file per object, headed by field API names.

Field names are those of Salesforce's Object Reference (Account, Contact, Contract, Order,
OrderItem, Opportunity, OpportunityLineItem, Product2, Pricebook2, PricebookEntry). Accounts
become customer parties with a bill-to entity; the contact named as an activated order's
BillToContactId becomes the bill-to's contact. Each price book becomes one price list per
currency. Each contract becomes a contract whose first version contains the lines of its
activated orders' order items, or, when it has no activated order, of its won opportunity's
line items. An activated order is what the customer committed to under the contract and
Salesforce no longer lets its items change, while an opportunity's line items are the forecast
the order was made from.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.utils import timezone

from billguard.imports.records import (
    Cell,
    ContractIn,
    CustomerIn,
    ImportBatch,
    LineIn,
    PriceItemIn,
    PriceListIn,
    Problems,
    check_unique,
    parse_country,
    parse_currency,
    parse_date,
    parse_decimal,
    parse_whole,
    place_text,
    require_value,
)
from billguard.imports.tables import Table, read_csv

SOURCE = "salesforce"
LAYOUT = "Salesforce's Data Export (field API names as headers)"

FILES = (
    "Account.csv",
    "Contact.csv",
    "Contract.csv",
    "Opportunity.csv",
    "OpportunityLineItem.csv",
    "Order.csv",
    "OrderItem.csv",
    "Product2.csv",
    "Pricebook2.csv",
    "PricebookEntry.csv",
)
# The columns each file must have when it is in the export.
REQUIRED_COLUMNS = {
    "Account.csv": ["Id", "Name"],
    "Contact.csv": ["Id", "AccountId", "LastName"],
    "Contract.csv": ["Id", "AccountId", "ContractNumber", "StartDate", "Status"],
    "Opportunity.csv": ["Id", "AccountId", "IsWon"],
    "OpportunityLineItem.csv": ["Id", "OpportunityId", "Quantity", "UnitPrice"],
    "Order.csv": ["Id", "AccountId", "ContractId", "Status"],
    "OrderItem.csv": ["Id", "OrderId", "Quantity", "UnitPrice"],
    "Product2.csv": ["Id", "Name"],
    "Pricebook2.csv": ["Id", "Name"],
    "PricebookEntry.csv": ["Id", "Pricebook2Id", "Product2Id", "UnitPrice"],
}


@dataclass
class Export:
    tables: dict[str, Table]

    def rows(self, name: str) -> list[tuple[int, dict[str, str]]]:
        table = self.tables.get(name)
        return (
            [(n, row) for n, row in table.rows if not _true(row.get("IsDeleted", ""))]
            if table
            else []
        )

    def cell(self, name: str, row: int, values: dict[str, str], column: str) -> Cell:
        return Cell(name, row, column, values.get(column) or "")


def read_export(
    data: bytes,
    *,
    name: str,
    problems: Problems,
    currency: str | None,
    prices_valid_from: dt.date | None,
) -> ImportBatch:
    """Read a Data Export ZIP into a batch, adding every problem found to ``problems``.

    ``currency`` is the organisation's currency, for an export without CurrencyIsoCode
    columns (multi-currency off). ``prices_valid_from`` dates the imported prices; by default
    the earliest contract start of the export, because a price book entry has no date of its own.
    """
    batch = ImportBatch(source=SOURCE, code_prefix="SF")
    export = _open(data, name, problems)
    if export is None:
        return batch
    if "Account.csv" not in export.tables:
        problems.add(
            "the export has no Account.csv.",
            file=name,
            fix="Include the Account object when you schedule the Data Export.",
        )
        return batch
    accounts = _customers(export, problems)
    account_ids = {customer.external_id for customer in accounts}
    products = {row["Id"]: row for _, row in export.rows("Product2.csv")}
    contracts, billing_contacts = _contracts(export, problems, account_ids, products, currency)
    _contacts(export, problems, accounts, billing_contacts)
    start = prices_valid_from or min(
        (contract.start for contract in contracts), default=timezone.localdate()
    )
    price_lists = _price_lists(export, problems, products, currency, start)
    known_lists = {price_list.external_id for price_list in price_lists}
    for contract in contracts:
        if contract.price_list_ref and contract.price_list_ref not in known_lists:
            problems.add(
                f"price book {contract.price_list_ref.split(':')[0]} has no active entry in "
                f"{contract.currency}.",
                file="Contract.csv",
                row=int(contract.place.split("row ")[1]),
                column="Pricebook2Id",
                value=contract.price_list_ref.split(":")[0],
                fix="Include Pricebook2.csv and PricebookEntry.csv in the export, or leave "
                "Pricebook2Id empty.",
            )
    batch.customers, batch.price_lists, batch.contracts = accounts, price_lists, contracts
    return batch


def _open(data: bytes, name: str, problems: Problems) -> Export | None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        problems.add(
            "the file is not a ZIP archive.",
            file=name,
            fix="Give the ZIP file that Salesforce's Data Export produced, as downloaded.",
        )
        return None
    tables: dict[str, Table] = {}
    with archive:
        for member in archive.namelist():
            base = PurePosixPath(member).name
            if base not in FILES:
                continue
            table = read_csv(base, archive.read(member), problems)
            if table is not None and table.require_columns(
                REQUIRED_COLUMNS[base], problems, layout=LAYOUT
            ):
                tables[base] = table
    return Export(tables)


def _customers(export: Export, problems: Problems) -> list[CustomerIn]:
    file = "Account.csv"
    rows = export.rows(file)
    check_unique(
        problems, [(r.get("Id", ""), file, n) for n, r in rows], column="Id", what="account"
    )
    customers = []
    for number, row in rows:
        cell = lambda column, n=number, r=row: export.cell(file, n, r, column)  # noqa: E731
        external_id = require_value(cell("Id"), problems, what="account's record ID")
        name = require_value(cell("Name"), problems, what="account name")
        # BillingCountryCode is there when state and country picklists are on; otherwise
        # BillingCountry must hold the ISO code.
        country_column = "BillingCountryCode" if row.get("BillingCountryCode") else "BillingCountry"
        country = parse_country(cell(country_column), problems)
        state_column = "BillingStateCode" if row.get("BillingStateCode") else "BillingState"
        if external_id is None or name is None or country is None:
            continue
        customers.append(
            CustomerIn(
                external_id=external_id,
                place=place_text(file, number),
                name=name,
                country=country,
                street=row.get("BillingStreet", "").strip(),
                city=row.get("BillingCity", "").strip(),
                postcode=row.get("BillingPostalCode", "").strip(),
                subdivision=row.get(state_column, "").strip(),
            )
        )
    return customers


def _contacts(
    export: Export,
    problems: Problems,
    customers: list[CustomerIn],
    billing_contacts: dict[str, tuple[str, int]],
) -> None:
    """Put each account's billing contact (an activated order's BillToContactId) on its bill-to."""
    file = "Contact.csv"
    by_account = {customer.external_id: customer for customer in customers}
    contacts = {row.get("Id", ""): (number, row) for number, row in export.rows(file)}
    for account_id, (contact_id, order_row) in billing_contacts.items():
        customer = by_account.get(account_id)
        if customer is None:
            continue
        found = contacts.get(contact_id)
        if found is None:
            problems.add(
                f"contact {contact_id} is not in Contact.csv.",
                file="Order.csv",
                row=order_row,
                column="BillToContactId",
                value=contact_id,
                fix="Include the Contact object in the export.",
            )
            continue
        number, row = found
        if row.get("AccountId", "") != account_id:
            problems.add(
                f"contact {contact_id} belongs to account {row.get('AccountId')!r}, not to the "
                f"order's account {account_id}.",
                file=file,
                row=number,
                column="AccountId",
                value=row.get("AccountId"),
                fix="Choose a bill-to contact of the order's own account.",
            )
            continue
        customer.contact_name = " ".join(
            part
            for part in (row.get("FirstName", "").strip(), row.get("LastName", "").strip())
            if part
        )
        customer.contact_email = row.get("Email", "").strip()


def _price_lists(
    export: Export,
    problems: Problems,
    products: dict[str, dict[str, str]],
    currency: str | None,
    valid_from: dt.date,
) -> list[PriceListIn]:
    books = {row["Id"]: (number, row) for number, row in export.rows("Pricebook2.csv")}
    file = "PricebookEntry.csv"
    rows = export.rows(file)
    check_unique(
        problems,
        [(r.get("Id", ""), file, n) for n, r in rows],
        column="Id",
        what="price book entry",
    )
    lists: dict[str, PriceListIn] = {}
    for number, row in rows:
        if row.get("IsActive", "true") and not _true(row.get("IsActive", "true")):
            continue
        cell = lambda column, n=number, r=row: export.cell(file, n, r, column)  # noqa: E731
        book_id = row.get("Pricebook2Id", "")
        if book_id not in books:
            cell("Pricebook2Id").problem(
                problems,
                f"price book {book_id!r} is not in Pricebook2.csv.",
                "Include Pricebook2 in the export.",
            )
            continue
        product = products.get(row.get("Product2Id", ""))
        if product is None:
            cell("Product2Id").problem(
                problems,
                f"product {row.get('Product2Id')!r} is not in Product2.csv.",
                "Include Product2 in the export.",
            )
            continue
        entry_currency = _currency(cell, row, problems, currency)
        price = parse_decimal(cell("UnitPrice"), problems, required=True, what="unit price")
        if entry_currency is None or price is None:
            continue
        key = f"{book_id}:{entry_currency}"
        if key not in lists:
            book_row, book = books[book_id]
            lists[key] = PriceListIn(
                external_id=key,
                place=place_text("Pricebook2.csv", book_row),
                name=f"{book.get('Name', '').strip()} ({entry_currency})"[:200],
                currency=entry_currency,
            )
        lists[key].items.append(
            PriceItemIn(
                external_id=row["Id"],
                place=place_text(file, number),
                product_code=_product_code(product),
                unit_price=price,
                valid_from=valid_from,
            )
        )
    return list(lists.values())


def _contracts(
    export: Export,
    problems: Problems,
    account_ids: set[str],
    products: dict[str, dict[str, str]],
    currency: str | None,
) -> tuple[list[ContractIn], dict[str, tuple[str, int]]]:
    """Read the contracts with their lines; also return each account's billing contact."""
    file = "Contract.csv"
    rows = export.rows(file)
    check_unique(
        problems, [(r.get("Id", ""), file, n) for n, r in rows], column="Id", what="contract"
    )
    check_unique(
        problems,
        [(r.get("ContractNumber", "").strip(), file, n) for n, r in rows],
        column="ContractNumber",
        what="contract number",
    )
    order_lines, billing_contacts = _order_lines(export, problems, products)
    opportunity_lines = _opportunity_lines(export, problems, products)
    contracts = []
    for number, row in rows:
        cell = lambda column, n=number, r=row: export.cell(file, n, r, column)  # noqa: E731
        external_id = require_value(cell("Id"), problems, what="contract's record ID")
        account = row.get("AccountId", "").strip()
        if account not in account_ids:
            cell("AccountId").problem(
                problems,
                f"account {account!r} is not in Account.csv." if account else "AccountId is empty.",
                "Every contract needs the record ID of an account of the same export.",
            )
        contract_number = require_value(cell("ContractNumber"), problems, what="contract number")
        start = parse_date(cell("StartDate"), problems, required=True)
        end = parse_date(cell("EndDate"), problems)
        term = parse_whole(cell("ContractTerm"), problems, what="contract term in months")
        if end is None and term and start is not None:
            end = _add_months(start, term) - dt.timedelta(days=1)
        if start is not None and end is not None and end < start:
            cell("EndDate").problem(
                problems,
                f"the end date {end} is before the start date {start}.",
                "Correct the dates.",
            )
        contract_currency = _currency(cell, row, problems, currency)
        if external_id is None:
            continue
        lines, lines_from = order_lines.get(external_id), "Order.csv"
        if not lines:
            lines, lines_from = opportunity_lines.get(external_id), "Opportunity.csv"
        if not lines:
            cell("Id").problem(
                problems,
                f"contract {contract_number or external_id} has no activated order with order "
                "items and no won opportunity with line items, so it would have no lines.",
                "Activate its order (or mark its opportunity won) before the export, or leave "
                "the contract out.",
            )
            continue
        for line_currency, line_place in {(c, p) for _, c, p in lines}:
            if contract_currency and line_currency and line_currency != contract_currency:
                problems.add(
                    f"the {lines_from[:-4].lower()} is in {line_currency} and the contract in "
                    f"{contract_currency}.",
                    file=line_place.split(",")[0],
                    row=int(line_place.split("row ")[1]),
                    column="CurrencyIsoCode",
                    value=line_currency,
                    fix="Give the contract and its orders one currency.",
                )
        if None in (contract_number, start, contract_currency) or account not in account_ids:
            continue
        assert contract_number is not None
        assert start is not None
        assert contract_currency is not None
        book = row.get("Pricebook2Id", "").strip()
        contracts.append(
            ContractIn(
                external_id=external_id,
                place=place_text(file, number),
                number=f"SF-{contract_number}",
                customer_ref=account,
                start=start,
                end_date=end,
                currency=contract_currency,
                title=(row.get("Name", "").strip() or row.get("Description", "").strip())[:200],
                price_list_ref=f"{book}:{contract_currency}" if book else "",
                active=row.get("Status", "").strip() == "Activated",
                lines=_line_codes([line for line, _, _ in lines]),
            )
        )
    return contracts, billing_contacts


def _order_lines(
    export: Export, problems: Problems, products: dict[str, dict[str, str]]
) -> tuple[dict[str, list[tuple[LineIn, str, str]]], dict[str, tuple[str, int]]]:
    """Return the order items of activated orders by contract, and the billing contacts."""
    orders: dict[str, tuple[str, str, str]] = {}
    contacts: dict[str, tuple[str, int]] = {}
    for number, row in export.rows("Order.csv"):
        if row.get("Status", "").strip() != "Activated" or not row.get("ContractId"):
            continue
        order_currency = row.get("CurrencyIsoCode", "").strip()
        orders[row["Id"]] = (row["ContractId"], order_currency, place_text("Order.csv", number))
        if row.get("BillToContactId"):
            contacts.setdefault(row["AccountId"], (row["BillToContactId"], number))
    lines: dict[str, list[tuple[LineIn, str, str]]] = defaultdict(list)
    file = "OrderItem.csv"
    rows = export.rows(file)
    check_unique(
        problems, [(r.get("Id", ""), file, n) for n, r in rows], column="Id", what="order item"
    )
    for number, row in rows:
        order = orders.get(row.get("OrderId", ""))
        if order is None:
            continue
        line = _line(export, file, number, row, problems, products)
        if line is not None:
            lines[order[0]].append((line, order[1], order[2]))
    return lines, contacts


def _opportunity_lines(
    export: Export, problems: Problems, products: dict[str, dict[str, str]]
) -> dict[str, list[tuple[LineIn, str, str]]]:
    opportunities: dict[str, tuple[str, str, str]] = {}
    for number, row in export.rows("Opportunity.csv"):
        if _true(row.get("IsWon", "")) and row.get("ContractId"):
            opportunities[row["Id"]] = (
                row["ContractId"],
                row.get("CurrencyIsoCode", "").strip(),
                place_text("Opportunity.csv", number),
            )
    lines: dict[str, list[tuple[LineIn, str, str]]] = defaultdict(list)
    file = "OpportunityLineItem.csv"
    for number, row in export.rows(file):
        opportunity = opportunities.get(row.get("OpportunityId", ""))
        if opportunity is None:
            continue
        line = _line(export, file, number, row, problems, products)
        if line is not None:
            lines[opportunity[0]].append((line, opportunity[1], opportunity[2]))
    return lines


def _line(
    export: Export,
    file: str,
    number: int,
    row: dict[str, str],
    problems: Problems,
    products: dict[str, dict[str, str]],
) -> LineIn | None:
    cell = lambda column: export.cell(file, number, row, column)  # noqa: E731
    quantity = parse_decimal(
        cell("Quantity"), problems, required=True, positive=True, what="quantity"
    )
    price = parse_decimal(cell("UnitPrice"), problems, required=True, what="unit price")
    product = products.get(row.get("Product2Id", "")) or {}
    if row.get("Product2Id") and not product:
        cell("Product2Id").problem(
            problems,
            f"product {row['Product2Id']!r} is not in Product2.csv.",
            "Include Product2 in the export.",
        )
        return None
    if quantity is None or price is None:
        return None
    description = (product.get("Name") or row.get("Description") or "").strip() or row["Id"]
    return LineIn(
        line_code=row["Id"],
        place=place_text(file, number),
        description=description[:200],
        quantity=quantity,
        unit_price=price,
        product_code=_product_code(product) if product else row.get("ProductCode", "")[:40],
    )


def _line_codes(lines: list[LineIn]) -> list[LineIn]:
    """Code each line by its product code where that is unique in the contract, otherwise by
    the item's record ID. Product codes read well and stay the same across exports."""
    counts: dict[str, int] = defaultdict(int)
    for line in lines:
        counts[line.product_code] += 1
    for line in lines:
        if line.product_code and counts[line.product_code] == 1:
            line.line_code = line.product_code
    return lines


def _currency(
    cell: object, row: dict[str, str], problems: Problems, default: str | None
) -> str | None:
    make = cell  # the caller's cell factory for the current row
    if "CurrencyIsoCode" in row:
        return parse_currency(make("CurrencyIsoCode"), problems)  # type: ignore[operator]
    if default is None:
        make("CurrencyIsoCode").problem(  # type: ignore[operator]
            problems,
            "the export has no CurrencyIsoCode column (multi-currency is off) and no currency "
            "was given.",
            "Give the organisation's currency with --currency, such as --currency EUR.",
        )
    return default


def _product_code(product: dict[str, str]) -> str:
    return (product.get("ProductCode") or product.get("Id") or "").strip()[:40]


def _true(text: str) -> bool:
    return text.strip().lower() in {"true", "1"}


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )
