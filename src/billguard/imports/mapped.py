"""Any CSV or XLSX file read through a saved column mapping.

A mapping names, for one target, which source column holds each Billguard field. The fields
of each target are below; the required ones must be mapped and filled on every row.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from billguard.imports.models import ColumnMapping, MappingTarget
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
from billguard.imports.tables import Table, read_csv, read_xlsx
from billguard.registry.models.contracts import Cadence, ContractType, LineKind

# Billguard fields of each target: name -> required.
TARGET_FIELDS: dict[str, dict[str, bool]] = {
    MappingTarget.CUSTOMERS: {
        "external_id": True,
        "name": True,
        "country": True,
        "street": False,
        "city": False,
        "postcode": False,
        "subdivision": False,
        "tax_id": False,
        "contact_name": False,
        "contact_email": False,
        "code": False,
    },
    MappingTarget.CONTRACTS: {
        "external_id": True,
        "number": True,
        "customer_id": True,
        "start_date": True,
        "currency": True,
        "end_date": False,
        "title": False,
        "price_list_id": False,
        "payment_terms_days": False,
        "cadence": False,
        "contract_type": False,
        "status": False,
    },
    MappingTarget.CONTRACT_LINES: {
        "contract_id": True,
        "line_code": True,
        "description": True,
        "quantity": True,
        "unit_price": False,
        "product_code": False,
        "kind": False,
    },
    MappingTarget.PRICE_LIST_ITEMS: {
        "price_list_id": True,
        "currency": True,
        "external_id": True,
        "product_code": True,
        "unit_price": True,
        "valid_from": True,
        "price_list_name": False,
    },
}


def read_mapped(
    files: list[tuple[str, bytes, ColumnMapping]], *, problems: Problems
) -> ImportBatch:
    """Read each file through its mapping; all mappings must share one source."""
    sources = {mapping.source for _, _, mapping in files}
    batch = ImportBatch(source=sources.pop() if len(sources) == 1 else "", code_prefix="")
    if len(sources) > 0:
        problems.add(
            "the mappings name different sources, so their external IDs cannot be matched.",
            file=", ".join(name for name, _, _ in files),
            fix="Import the files of each source system in a run of their own.",
        )
        return batch
    batch.code_prefix = batch.source.upper()
    lines: dict[str, list[LineIn]] = defaultdict(list)
    for name, data, mapping in files:
        reader = read_xlsx if Path(name).suffix.lower() == ".xlsx" else read_csv
        table = reader(name, data, problems)
        if table is None or not _check_header(table, mapping, problems):
            continue
        rows = _mapped_rows(table, mapping)
        if mapping.target == MappingTarget.CUSTOMERS:
            batch.customers += _customers(rows, problems)
        elif mapping.target == MappingTarget.CONTRACTS:
            batch.contracts += _contracts(rows, problems)
        elif mapping.target == MappingTarget.CONTRACT_LINES:
            for contract_id, line in _lines(rows, problems):
                lines[contract_id].append(line)
        else:
            batch.price_lists += _price_lists(rows, problems)
    in_batch = {contract.external_id: contract for contract in batch.contracts}
    for contract_id, contract_lines in lines.items():
        contract = in_batch.get(contract_id)
        if contract is not None:
            contract.lines, contract.lines_given = contract_lines, True
        else:
            batch.contract_lines[contract_id] = contract_lines
    return batch


Row = tuple[int, dict[str, Cell]]


def _check_header(table: Table, mapping: ColumnMapping, problems: Problems) -> bool:
    ok = True
    for column, field_name in mapping.columns.items():
        if column not in table.headers:
            problems.add(
                f"mapping {mapping.name} reads column {column!r} ({field_name}), and the file "
                "has no such column.",
                file=table.file,
                row=1,
                column=column,
                fix=f"Rename the column, or save the mapping again for this file's header "
                f"(columns: {', '.join(table.headers)}).",
            )
            ok = False
    return ok


def _mapped_rows(table: Table, mapping: ColumnMapping) -> list[Row]:
    by_field = {field_name: column for column, field_name in mapping.columns.items()}
    rows = []
    for number, values in table.rows:
        cells = {
            field_name: Cell(table.file, number, column, values.get(column) or "")
            for field_name, column in by_field.items()
        }
        rows.append((number, cells))
    return rows


def _cell(cells: dict[str, Cell], name: str, number: int, file: str) -> Cell:
    return cells.get(name) or Cell(file, number, name, "")


def _file(rows: list[Row]) -> str:
    return next(iter(rows[0][1].values())).file if rows and rows[0][1] else ""


def _text(cells: dict[str, Cell], name: str) -> str:
    cell = cells.get(name)
    return cell.text.strip() if cell is not None else ""


def _customers(rows: list[Row], problems: Problems) -> list[CustomerIn]:
    file = _file(rows)
    check_unique(
        problems,
        [(_text(c, "external_id"), file, n) for n, c in rows],
        column="external_id",
        what="customer",
    )
    customers = []
    for number, cells in rows:
        external_id = require_value(
            _cell(cells, "external_id", number, file), problems, what="customer ID"
        )
        name = require_value(_cell(cells, "name", number, file), problems, what="customer name")
        country = parse_country(_cell(cells, "country", number, file), problems)
        if external_id is None or name is None or country is None:
            continue
        customers.append(
            CustomerIn(
                external_id=external_id,
                place=place_text(file, number),
                name=name,
                country=country,
                street=_text(cells, "street"),
                city=_text(cells, "city"),
                postcode=_text(cells, "postcode"),
                subdivision=_text(cells, "subdivision"),
                tax_id=_text(cells, "tax_id"),
                contact_name=_text(cells, "contact_name"),
                contact_email=_text(cells, "contact_email"),
                code=_text(cells, "code"),
            )
        )
    return customers


def _contracts(rows: list[Row], problems: Problems) -> list[ContractIn]:
    file = _file(rows)
    check_unique(
        problems,
        [(_text(c, "external_id"), file, n) for n, c in rows],
        column="external_id",
        what="contract",
    )
    contracts = []
    for number, cells in rows:
        get = lambda name, n=number, c=cells: _cell(c, name, n, file)  # noqa: E731
        external_id = require_value(get("external_id"), problems, what="contract ID")
        contract_number = require_value(get("number"), problems, what="contract number")
        customer = require_value(get("customer_id"), problems, what="customer ID of the contract")
        start = parse_date(get("start_date"), problems, required=True)
        end = parse_date(get("end_date"), problems)
        currency = parse_currency(get("currency"), problems)
        terms = parse_whole(get("payment_terms_days"), problems, what="payment terms in days")
        cadence = _text(cells, "cadence").lower()
        if cadence and cadence not in Cadence.values:
            get("cadence").problem(
                problems,
                f"cadence {cadence!r} is unknown.",
                f"Use one of: {', '.join(Cadence.values)}.",
            )
        contract_type = _text(cells, "contract_type").lower()
        if contract_type and contract_type not in ContractType.values:
            get("contract_type").problem(
                problems,
                f"contract type {contract_type!r} is unknown.",
                f"Use one of: {', '.join(ContractType.values)}.",
            )
        status = _text(cells, "status").lower() or "active"
        if status not in {"active", "draft"}:
            get("status").problem(
                problems, f"status {status!r} is unknown.", "Use active or draft."
            )
        if start is not None and end is not None and end < start:
            get("end_date").problem(
                problems,
                f"the end date {end} is before the start date {start}.",
                "Correct the dates.",
            )
        if None in (external_id, contract_number, customer, start, currency):
            continue
        assert external_id
        assert contract_number
        assert customer
        assert start
        assert currency
        contracts.append(
            ContractIn(
                external_id=external_id,
                place=place_text(file, number),
                number=contract_number,
                customer_ref=customer,
                start=start,
                end_date=end,
                currency=currency,
                title=_text(cells, "title"),
                price_list_ref=_text(cells, "price_list_id"),
                payment_terms_days=terms,
                cadence=cadence if cadence in Cadence.values else "",
                active=status == "active",
                contract_type=contract_type if contract_type in ContractType.values else "",
                lines_given=False,
            )
        )
    return contracts


def _lines(rows: list[Row], problems: Problems) -> list[tuple[str, LineIn]]:
    file = _file(rows)
    seen = [(f"{_text(c, 'contract_id')} {_text(c, 'line_code')}", file, n) for n, c in rows]
    check_unique(problems, seen, column="line_code", what="contract line")
    lines = []
    for number, cells in rows:
        get = lambda name, n=number, c=cells: _cell(c, name, n, file)  # noqa: E731
        contract = require_value(get("contract_id"), problems, what="contract ID or number")
        code = require_value(get("line_code"), problems, what="line code")
        description = require_value(get("description"), problems, what="line description")
        quantity = parse_decimal(
            get("quantity"), problems, required=True, positive=True, what="quantity"
        )
        price = parse_decimal(get("unit_price"), problems, what="unit price")
        kind = _text(cells, "kind").lower() or "recurring_fixed"
        if kind not in LineKind.values:
            get("kind").problem(
                problems,
                f"line kind {kind!r} is unknown.",
                f"Use one of: {', '.join(LineKind.values)}.",
            )
            continue
        if None in (contract, code, description, quantity):
            continue
        assert contract
        assert code
        assert description
        assert quantity is not None
        lines.append(
            (
                contract,
                LineIn(
                    line_code=code[:40],
                    place=place_text(file, number),
                    description=description[:200],
                    quantity=quantity,
                    unit_price=price,
                    product_code=_text(cells, "product_code")[:40],
                    kind=kind,
                ),
            )
        )
    return lines


def _price_lists(rows: list[Row], problems: Problems) -> list[PriceListIn]:
    file = _file(rows)
    check_unique(
        problems,
        [(_text(c, "external_id"), file, n) for n, c in rows],
        column="external_id",
        what="price list item",
    )
    lists: dict[str, PriceListIn] = {}
    for number, cells in rows:
        get = lambda name, n=number, c=cells: _cell(c, name, n, file)  # noqa: E731
        list_id = require_value(get("price_list_id"), problems, what="price list ID")
        currency = parse_currency(get("currency"), problems)
        external_id = require_value(get("external_id"), problems, what="price list item ID")
        product = require_value(get("product_code"), problems, what="product code")
        price = parse_decimal(get("unit_price"), problems, required=True, what="unit price")
        valid_from = parse_date(get("valid_from"), problems, required=True)
        if None in (list_id, currency, external_id, product, price, valid_from):
            continue
        assert list_id
        assert currency
        assert external_id
        assert product
        assert price is not None
        assert valid_from
        price_list = lists.get(list_id)
        if price_list is None:
            price_list = lists[list_id] = PriceListIn(
                external_id=list_id,
                place=place_text(file, number),
                name=_text(cells, "price_list_name") or list_id,
                currency=currency,
            )
        elif price_list.currency != currency:
            get("currency").problem(
                problems,
                f"price list {list_id} is in {price_list.currency} on an earlier row.",
                "Give each price list one currency.",
            )
            continue
        price_list.items.append(
            PriceItemIn(
                external_id=external_id,
                place=place_text(file, number),
                product_code=product[:40],
                unit_price=price,
                valid_from=valid_from,
            )
        )
    return list(lists.values())
