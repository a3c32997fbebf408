"""Purchase orders from a JSON or CSV file, created as drafts all together or not at all.

JSON: one order, or a list of orders. Each order is an object with ``number``, ``vendor``
(the party code), ``seller_entity`` (the entity code), ``currency``, ``ordered_on`` and
``lines``. Each line has ``description``, ``quantity``, ``unit_price``, ``gl_account`` and
optionally ``kind``, ``category``, ``unit_code`` and ``expected_on``.

CSV: one row per line, with a header naming the same fields; the order fields repeat on each
line of an order and must agree between them. Several orders may share a file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import transaction

from billguard.controls.roles import authorize
from billguard.domain.errors import BillguardError, InvalidInput, NotFound
from billguard.procurement.models import PurchaseOrder
from billguard.procurement.purchase_orders import OrderLineInput, purchase_order_create
from billguard.registry.models import Party, SellerEntity

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ORDER_FIELDS = ("number", "vendor", "seller_entity", "currency", "ordered_on")
LINE_FIELDS = ("description", "quantity", "unit_price", "gl_account")
OPTIONAL_LINE_FIELDS = ("kind", "category", "unit_code", "expected_on")


@dataclass
class OrderRequest:
    """One order as read from the file, with where it came from for error messages."""

    place: str
    values: dict[str, str]
    lines: list[OrderLineInput] = field(default_factory=list)


def purchase_orders_import(
    content: str, *, file_name: str, by: User | None = None
) -> list[PurchaseOrder]:
    """Create every order of the file as a draft; one bad value leaves nothing written."""
    if by is not None:
        authorize(by, "purchase_order_manage")
    requests = read_orders(content, file_name=file_name)
    created = []
    with transaction.atomic():
        for request in requests:
            try:
                created.append(_create(request, by=by))
            except BillguardError as error:
                error.place = f"{request.place}, {error.place}" if error.place else request.place
                raise
    return created


def read_orders(content: str, *, file_name: str) -> list[OrderRequest]:
    """Parse ``content`` as JSON when it starts with ``{`` or ``[``, as CSV otherwise."""
    text = content.lstrip("\ufeff").strip()
    if not text:
        raise InvalidInput(
            "the file is empty.", place=file_name, fix="Give one or more orders with their lines."
        )
    if text[0] in "{[":
        return _read_json(text, file_name=file_name)
    return _read_csv(text, file_name=file_name)


def _read_json(text: str, *, file_name: str) -> list[OrderRequest]:
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"the file is not valid JSON: {error.msg}.",
            place=f"{file_name} line {error.lineno} column {error.colno}",
            fix="Check the JSON syntax near that place.",
        ) from None
    orders = data if isinstance(data, list) else [data]
    requests = []
    for index, order in enumerate(orders, 1):
        place = f"{file_name} order {index}"
        if not isinstance(order, dict):
            raise InvalidInput("an order is not a JSON object.", place=place)
        values = {name: _text(order.get(name), place=f"{place} {name}") for name in ORDER_FIELDS}
        request = OrderRequest(place=f"{place} ({values['number'] or 'no number'})", values=values)
        lines = order.get("lines")
        if not isinstance(lines, list) or not lines:
            raise InvalidInput(
                "the order has no lines.",
                place=f"{place} lines",
                fix="Give a list of lines, each with description, quantity and unit_price.",
            )
        for position, line in enumerate(lines, 1):
            line_place = f"{place} line {position}"
            if not isinstance(line, dict):
                raise InvalidInput("a line is not a JSON object.", place=line_place)
            request.lines.append(_line(line, place=line_place))
        requests.append(request)
    return requests


def _read_csv(text: str, *, file_name: str) -> list[OrderRequest]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in (*ORDER_FIELDS, *LINE_FIELDS) if name not in header]
    if missing:
        raise InvalidInput(
            f"the header has no column {', '.join(missing)}.",
            place=f"{file_name} row 1",
            fix=f"Name the columns {', '.join((*ORDER_FIELDS, *LINE_FIELDS))}, and optionally "
            f"{', '.join(OPTIONAL_LINE_FIELDS)}.",
        )
    by_number: dict[str, OrderRequest] = {}
    for row_number, raw in enumerate(reader, 2):
        place = f"{file_name} row {row_number}"
        if None in raw:
            # DictReader puts the values beyond the header's columns under the key None.
            raise InvalidInput(
                f"the row has {len(header) + len(raw[None])} values, but the header names "
                f"{len(header)} columns.",
                place=place,
                fix="Quote values that contain a comma, or remove the extra values.",
            )
        row = {key.strip(): (value or "").strip() for key, value in raw.items()}
        values = {name: row[name] for name in ORDER_FIELDS}
        request = by_number.get(values["number"])
        if request is None:
            request = OrderRequest(place=f"{place} ({values['number']})", values=values)
            by_number[values["number"]] = request
        else:
            for name in ORDER_FIELDS:
                if values[name] != request.values[name]:
                    raise InvalidInput(
                        f"{name} {values[name]!r} differs from {request.values[name]!r} on an "
                        f"earlier line of order {values['number']}.",
                        place=f"{place} column {name}",
                        value=values[name],
                        fix="Repeat the same order fields on every line of one order.",
                    )
        request.lines.append(_line(row, place=place))
    if not by_number:
        raise InvalidInput(
            "the file has a header but no lines.",
            place=file_name,
            fix="Add one row per order line.",
        )
    return list(by_number.values())


def _line(values: Mapping[str, Any], *, place: str) -> OrderLineInput:
    for name in LINE_FIELDS:
        if values.get(name) in (None, ""):
            raise InvalidInput(f"{name} is empty.", place=f"{place} {name}", fix=f"Give {name}.")
    expected = _text(values.get("expected_on"), place=f"{place} expected_on")
    return OrderLineInput(
        description=_text(values["description"], place=f"{place} description"),
        quantity=_decimal(values["quantity"], place=f"{place} quantity"),
        unit_price=_decimal(values["unit_price"], place=f"{place} unit_price"),
        gl_account=_text(values["gl_account"], place=f"{place} gl_account"),
        kind=_text(values.get("kind"), place=f"{place} kind") or "service",
        category=_text(values.get("category"), place=f"{place} category"),
        unit_code=_text(values.get("unit_code"), place=f"{place} unit_code") or "C62",
        expected_on=_date(expected, place=f"{place} expected_on") if expected else None,
    )


def _create(request: OrderRequest, *, by: User | None) -> PurchaseOrder:
    values = request.values
    vendor = Party.objects.filter(code=values["vendor"]).first()
    if vendor is None:
        raise NotFound(
            f"vendor {values['vendor']!r} does not exist.",
            place="vendor",
            value=values["vendor"],
            fix="Use the code of a party of kind vendor.",
        )
    seller = SellerEntity.objects.filter(code=values["seller_entity"]).first()
    if seller is None:
        raise NotFound(
            f"seller entity {values['seller_entity']!r} does not exist.",
            place="seller_entity",
            value=values["seller_entity"],
            fix="Use the code of one of our seller entities.",
        )
    return purchase_order_create(
        number=values["number"],
        vendor=vendor,
        seller_entity=seller,
        currency=values["currency"],
        ordered_on=_date(values["ordered_on"], place="ordered_on"),
        lines=request.lines,
        by=by,
    )


def _text(value: object, *, place: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    raise InvalidInput(f"{value!r} is not text.", place=place, value=value)


def _decimal(value: object, *, place: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        result = Decimal("NaN")
    if not result.is_finite():
        raise InvalidInput(
            f"{value!r} is not a number.",
            place=place,
            value=value,
            fix="Write it with digits and a decimal point, such as 120.50.",
        )
    return result


def _date(value: str, *, place: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{value!r} is not a date.",
            place=place,
            value=value,
            fix="Write it as YYYY-MM-DD, such as 2026-10-31.",
        ) from None
