"""Purchase orders from a JSON or CSV file, created as drafts all together or not at all.

JSON: one order, or a list of orders. Each order is an object with ``number``, ``vendor``
(the party code), ``seller_entity`` (the entity code), ``currency``, ``ordered_on`` and
``lines``. Each line has ``description``, ``quantity``, ``unit_price``, ``gl_account`` and
optionally ``kind``, ``category``, ``unit_code`` and ``expected_on``.

CSV: one row per line, with a header naming the same fields; the order fields repeat on each
line of an order and must agree between them. Several orders may share a file.

An unknown key or column is an error, so that a misspelled name is not ignored. Every problem
of the file is reported together in one PurchaseOrderFileInvalid, and nothing is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import transaction

from billguard.controls.roles import authorize
from billguard.domain.errors import BillguardError, InvalidInput, NotFound
from billguard.procurement.models import PurchaseOrder
from billguard.procurement.purchase_orders import OrderLineInput, purchase_order_create
from billguard.procurement.vendor_invoice_input import problem_text
from billguard.registry.models import Party, SellerEntity

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ORDER_FIELDS = ("number", "vendor", "seller_entity", "currency", "ordered_on")
LINE_FIELDS = ("description", "quantity", "unit_price", "gl_account")
OPTIONAL_LINE_FIELDS = ("kind", "category", "unit_code", "expected_on")
KNOWN_COLUMNS = (*ORDER_FIELDS, *LINE_FIELDS, *OPTIONAL_LINE_FIELDS)

T = TypeVar("T")


class PurchaseOrderFileInvalid(InvalidInput):
    """A purchase-order file with one or more invalid values; ``problems`` lists each of them.

    Nothing is written when this is raised: a file is created whole or not at all.
    """

    code = "PURCHASE_ORDER_FILE_INVALID"

    def __init__(self, file_name: str, problems: Sequence[BillguardError]) -> None:
        lines = "\n".join(f"  {problem_text(problem)}" for problem in problems)
        super().__init__(
            f"{len(problems)} problem(s), no purchase order was created:\n{lines}",
            place=file_name,
            value=problems[0].value,
            fix="Correct each value listed, then create the orders from the file again.",
        )
        self.problems = list(problems)

    def __str__(self) -> str:
        # One problem a line, and the advice on a line of its own after them.
        head = f"{self.place}: {self.message}" if self.place else self.message
        return f"{head}\n{self.fix}" if self.fix else head


@dataclass
class OrderRequest:
    """One order as read from the file, with where it came from for error messages."""

    place: str
    values: dict[str, str]
    lines: list[OrderLineInput] = field(default_factory=list)
    # True when a value of the order or of one of its lines is invalid: it is not created.
    invalid: bool = False


def purchase_orders_import(
    content: str, *, file_name: str, by: User | None = None
) -> list[PurchaseOrder]:
    """Create every order of the file as a draft, or none of them when any value is invalid.

    Raises PurchaseOrderFileInvalid listing every problem found, in reading the file and in
    checking each order against the registry.
    """
    if by is not None:
        authorize(by, "purchase_order_manage")
    problems: list[BillguardError] = []
    requests = read_orders(content, file_name=file_name, problems=problems)
    created = []
    with transaction.atomic():
        for request in requests:
            if request.invalid:
                continue
            try:
                # A savepoint per order, so that the next orders are still checked.
                with transaction.atomic():
                    created.append(_create(request, by=by))
            except BillguardError as error:
                error.place = f"{request.place}, {error.place}" if error.place else request.place
                problems.append(error)
        if problems:
            raise PurchaseOrderFileInvalid(file_name, problems)
    return created


def read_orders(
    content: str, *, file_name: str, problems: list[BillguardError] | None = None
) -> list[OrderRequest]:
    """Parse ``content`` as JSON when it starts with ``{`` or ``[``, as CSV otherwise.

    Problems of values are appended to ``problems``, and their orders are marked invalid.
    Without ``problems``, the problems found are raised together as PurchaseOrderFileInvalid. A file
    that cannot be read at all (no valid JSON, a CSV header without a required column)
    raises InvalidInput.
    """
    found: list[BillguardError] = [] if problems is None else problems
    text = content.lstrip("\ufeff").strip()
    if not text:
        raise InvalidInput(
            "the file is empty.", place=file_name, fix="Give one or more orders with their lines."
        )
    if text[0] in "{[":
        requests = _read_json(text, file_name=file_name, problems=found)
    else:
        requests = _read_csv(text, file_name=file_name, problems=found)
    if problems is None and found:
        raise PurchaseOrderFileInvalid(file_name, found)
    return requests


def _collect(problems: list[BillguardError], parse: Callable[[], T]) -> T | None:
    """Run ``parse``, or append its input error to ``problems`` and return None."""
    try:
        return parse()
    except BillguardError as error:
        problems.append(error)
        return None


def _unknown_keys(
    keys: Sequence[str], known: Sequence[str], *, what: str, place: str
) -> list[BillguardError]:
    return [
        InvalidInput(
            f"{key!r} is not a known {what}.",
            place=place,
            value=key,
            fix=f"Use the known names: {', '.join(known)}.",
        )
        for key in keys
        if key not in known
    ]


def _read_json(text: str, *, file_name: str, problems: list[BillguardError]) -> list[OrderRequest]:
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
            problems.append(InvalidInput("an order is not a JSON object.", place=place))
            continue
        before = len(problems)
        problems.extend(
            _unknown_keys(list(order), (*ORDER_FIELDS, "lines"), what="order key", place=place)
        )
        values = {name: _order_text(order, name, place, problems) for name in ORDER_FIELDS}
        request = OrderRequest(place=f"{place} ({values['number'] or 'no number'})", values=values)
        lines = order.get("lines")
        if not isinstance(lines, list) or not lines:
            problems.append(
                InvalidInput(
                    "the order has no lines.",
                    place=f"{place} lines",
                    fix="Give a list of lines, each with description, quantity and unit_price.",
                )
            )
            lines = []
        for position, line in enumerate(lines, 1):
            line_place = f"{place} line {position}"
            if not isinstance(line, dict):
                problems.append(InvalidInput("a line is not a JSON object.", place=line_place))
                continue
            problems.extend(
                _unknown_keys(
                    list(line),
                    (*LINE_FIELDS, *OPTIONAL_LINE_FIELDS),
                    what="line key",
                    place=line_place,
                )
            )
            parsed = _line(line, place=line_place, problems=problems)
            if parsed is not None:
                request.lines.append(parsed)
        request.invalid = len(problems) > before
        requests.append(request)
    return requests


def _order_text(
    order: Mapping[str, Any], name: str, place: str, problems: list[BillguardError]
) -> str:
    return _collect(problems, lambda: _text(order.get(name), place=f"{place} {name}")) or ""


def _read_csv(text: str, *, file_name: str, problems: list[BillguardError]) -> list[OrderRequest]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    if len(header) == 1 and ";" in header[0]:
        raise InvalidInput(
            "the file separates its columns with ';', but a purchase-order CSV uses ','.",
            place=f"{file_name} row 1",
            value=header[0][:60],
            fix="Save the file as CSV with comma separators (in a spreadsheet, choose comma "
            "as the field delimiter), or replace each ';' separator with ','.",
        )
    unknown = _unknown_keys(header, KNOWN_COLUMNS, what="column", place=f"{file_name} row 1")
    missing = [name for name in (*ORDER_FIELDS, *LINE_FIELDS) if name not in header]
    if missing:
        unknown.append(
            InvalidInput(
                f"the header has no column {', '.join(missing)}.",
                place=f"{file_name} row 1",
                fix=f"Name the columns {', '.join((*ORDER_FIELDS, *LINE_FIELDS))}, and "
                f"optionally {', '.join(OPTIONAL_LINE_FIELDS)}.",
            )
        )
    if unknown:
        # The rows cannot be read reliably under a header with wrong names.
        raise PurchaseOrderFileInvalid(file_name, unknown)
    by_number: dict[str, OrderRequest] = {}
    for row_number, raw in enumerate(reader, 2):
        place = f"{file_name} row {row_number}"
        before = len(problems)
        if None in raw:
            # DictReader puts the values beyond the header's columns under the key None.
            problems.append(
                InvalidInput(
                    f"the row has {len(header) + len(raw[None])} values, but the header names "
                    f"{len(header)} columns.",
                    place=place,
                    fix="Quote values that contain a comma, or remove the extra values.",
                )
            )
            continue
        row = {key.strip(): (value or "").strip() for key, value in raw.items()}
        values = {name: row[name] for name in ORDER_FIELDS}
        request = by_number.get(values["number"])
        if request is None:
            request = OrderRequest(place=f"{place} ({values['number']})", values=values)
            by_number[values["number"]] = request
        else:
            for name in ORDER_FIELDS:
                if values[name] != request.values[name]:
                    problems.append(
                        InvalidInput(
                            f"{name} {values[name]!r} differs from {request.values[name]!r} on "
                            f"an earlier line of order {values['number']}.",
                            place=f"{place} column {name}",
                            value=values[name],
                            fix="Repeat the same order fields on every line of one order.",
                        )
                    )
        parsed = _line(row, place=place, problems=problems)
        if parsed is not None:
            request.lines.append(parsed)
        if len(problems) > before:
            request.invalid = True
    if not by_number and not problems:
        raise InvalidInput(
            "the file has a header but no lines.",
            place=file_name,
            fix="Add one row per order line.",
        )
    return list(by_number.values())


def _line(
    values: Mapping[str, Any], *, place: str, problems: list[BillguardError]
) -> OrderLineInput | None:
    """Read one order line, appending each invalid value to ``problems``."""
    before = len(problems)
    for name in LINE_FIELDS:
        if values.get(name) in (None, ""):
            problems.append(
                InvalidInput(f"{name} is empty.", place=f"{place} {name}", fix=f"Give {name}.")
            )
    if len(problems) > before:
        return None

    def text(name: str) -> str:
        return _collect(problems, lambda: _text(values.get(name), place=f"{place} {name}")) or ""

    def number(name: str) -> Decimal | None:
        return _collect(problems, lambda: _decimal(values[name], place=f"{place} {name}"))

    description = text("description")
    quantity = number("quantity")
    unit_price = number("unit_price")
    gl_account = text("gl_account")
    kind = text("kind") or "service"
    category = text("category")
    unit_code = text("unit_code") or "C62"
    expected = text("expected_on")
    expected_on = (
        _collect(problems, lambda: _date(expected, place=f"{place} expected_on"))
        if expected
        else None
    )
    if len(problems) > before or quantity is None or unit_price is None:
        return None
    return OrderLineInput(
        description=description,
        quantity=quantity,
        unit_price=unit_price,
        gl_account=gl_account,
        kind=kind,
        category=category,
        unit_code=unit_code,
        expected_on=expected_on,
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
