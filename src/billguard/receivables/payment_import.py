"""Import customer payments from a CSV file, all or nothing.

The file is UTF-8 CSV with a header row naming these columns, in any order:

    external_id,customer,bill_to,received_on,currency,amount,method,reference

external_id, customer, received_on, currency and amount are required on every row.
customer and bill_to are party and bill-to entity codes, received_on is YYYY-MM-DD, amount
uses a decimal point and at most the currency's ISO 4217 decimals, and method is one of the
payment methods (bank_transfer when empty). Every row is validated first. One bad value
anywhere means nothing is recorded, and every problem is reported with its file, row,
column, value and fix. A row whose external id is already recorded from the same source is
skipped, so importing the same file again records nothing new. Each recorded payment is
matched to invoices by the rules of ``billguard.receivables.payments``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction

from billguard.controls.roles import authorize
from billguard.domain.currencies import is_currency
from billguard.domain.errors import BillguardError, InvalidInput
from billguard.receivables.models import Payment
from billguard.receivables.payments import (
    PaymentInput,
    PaymentResult,
    payment_amount,
    payment_store,
    payment_validate,
)
from billguard.registry.models import BillToEntity, Party

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

COLUMNS = (
    "external_id",
    "customer",
    "bill_to",
    "received_on",
    "currency",
    "amount",
    "method",
    "reference",
)
REQUIRED = ("external_id", "customer", "received_on", "currency", "amount")

ProgressCallback = Callable[[int, int], None]


class PaymentsInvalid(InvalidInput):
    """The file has one or more invalid values; ``problems`` lists every one of them."""

    code = "PAYMENTS_INVALID"

    def __init__(self, source: str, problems: Sequence[BillguardError]) -> None:
        lines = "\n".join(f"  {_problem_text(problem)}" for problem in problems)
        super().__init__(
            f"{len(problems)} problem(s), nothing was recorded:\n{lines}",
            place=source,
            value=problems[0].value,
            fix="Correct each value listed, then import the file again.",
        )
        self.problems = list(problems)

    def __str__(self) -> str:
        return f"{self.place}: {self.message}\n{self.fix}"


def _problem_text(problem: BillguardError) -> str:
    text = str(problem)
    if problem.value is not None and repr(problem.value) not in text:
        text = f"{text} (value {problem.value!r})"
    return text


@dataclass
class ImportOutcome:
    source: str
    dry_run: bool
    # Rows to record (dry run) or recorded: (row number, payment input).
    rows: list[tuple[int, PaymentInput]] = field(default_factory=list)
    results: list[PaymentResult] = field(default_factory=list)
    # (row number, external id) of the rows recorded by an earlier import.
    skipped: list[tuple[int, str]] = field(default_factory=list)


def payments_import(
    *,
    content: bytes,
    file_name: str,
    source: str,
    by: User,
    dry_run: bool = False,
    apply_oldest: bool = False,
    progress: ProgressCallback | None = None,
    today: dt.date | None = None,
) -> ImportOutcome:
    """Validate every row of ``content``, then record them all in one transaction.

    ``source`` is stored on each payment and makes its external id unique. A dry run
    validates and records nothing. ``progress`` is called with (rows done, rows) as rows
    are recorded.
    """
    authorize(by, "payment_record")
    source = source.strip()
    if not source:
        raise InvalidInput(
            "the import needs a source.",
            place="--source",
            fix="Name where the payments come from, such as bank-feed.",
        )
    outcome = ImportOutcome(source=source, dry_run=dry_run)
    rows, problems = _read(content, file_name)
    known = set(
        Payment.objects.filter(
            source=source, external_id__in=[data.external_id for _, data in rows]
        ).values_list("external_id", flat=True)
    )
    for row_number, data in rows:
        place = f"{file_name}, row {row_number}"
        if data.external_id in known:
            outcome.skipped.append((row_number, data.external_id))
            continue
        data = PaymentInput(**{**data.__dict__, "source": source})
        try:
            payment_validate(data, today=today, place=place)
        except BillguardError as error:
            problems.append(error)
            continue
        outcome.rows.append((row_number, data))
    if problems:
        raise PaymentsInvalid(file_name, problems)
    if dry_run:
        return outcome
    total = len(outcome.rows)
    with transaction.atomic():
        for done, (_, data) in enumerate(outcome.rows, start=1):
            outcome.results.append(payment_store(data, by=by, apply_oldest=apply_oldest))
            if progress is not None:
                progress(done, total)
    logger.info(
        "imported %s payments from %s (source %s), %s already recorded",
        len(outcome.results),
        file_name,
        source,
        len(outcome.skipped),
    )
    return outcome


def _read(
    content: bytes, file_name: str
) -> tuple[list[tuple[int, PaymentInput]], list[BillguardError]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"the file is not UTF-8 text (byte {error.start}).",
            place=file_name,
            fix="Save the file as UTF-8 CSV.",
        ) from None
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise InvalidInput(
            f"the file is not valid CSV: {error}.",
            place=file_name,
            fix="Export the file again as CSV and check the quotes around values.",
        ) from None
    if not table:
        raise InvalidInput(
            "the file is empty.", place=file_name, fix=f"Add the header: {','.join(COLUMNS)}"
        )
    header = [name.strip().lower() for name in table[0]]
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        raise InvalidInput(
            f"the header has {' and '.join(parts)}.",
            place=f"{file_name}, row 1",
            value=",".join(table[0]),
            fix=f"Use the header: {','.join(COLUMNS)}",
        )

    parties = _lookup(Party, table, header, "customer")
    bill_tos = _lookup(BillToEntity, table, header, "bill_to")
    rows: list[tuple[int, PaymentInput]] = []
    problems: list[BillguardError] = []
    seen: dict[str, int] = {}
    for row_number, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        place = f"{file_name}, row {row_number}"
        if len(cells) != len(header):
            problems.append(
                InvalidInput(
                    f"the row has {len(cells)} values, but the header has {len(header)} columns.",
                    place=place,
                    value=len(cells),
                    fix="Put double quotes around values that contain a comma.",
                )
            )
            continue
        values = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        external_id = values.get("external_id", "")
        if external_id in seen:
            problems.append(
                InvalidInput(
                    f"external id {external_id!r} is also on row {seen[external_id]}.",
                    place=f"{place}, column external_id",
                    value=external_id,
                    fix="Give each payment its own external id.",
                )
            )
            continue
        if external_id:
            seen[external_id] = row_number
        data = _row(values, place, parties, bill_tos, problems)
        if data is not None:
            rows.append((row_number, data))
    if not rows and not problems:
        raise InvalidInput(
            "the file has a header but no rows.", place=file_name, fix="Add one row per payment."
        )
    return rows, problems


def _lookup(
    model: type[Party] | type[BillToEntity], table: list[list[str]], header: list[str], column: str
) -> dict[str, object]:
    if column not in header:
        return {}
    index = header.index(column)
    codes = {row[index].strip() for row in table[1:] if len(row) > index and row[index].strip()}
    return {record.code: record for record in model.objects.filter(code__in=codes)}


def _row(
    values: dict[str, str],
    place: str,
    parties: dict[str, object],
    bill_tos: dict[str, object],
    problems: list[BillguardError],
) -> PaymentInput | None:
    count = len(problems)

    def problem(column: str, message: str, fix: str) -> None:
        problems.append(
            InvalidInput(
                message, place=f"{place}, column {column}", value=values.get(column), fix=fix
            )
        )

    for column in REQUIRED:
        if not values.get(column):
            problem(column, f"{column} is missing.", f"Give the {column.replace('_', ' ')}.")
    customer = parties.get(values.get("customer", ""))
    if values.get("customer") and not isinstance(customer, Party):
        problem("customer", f"customer {values['customer']!r} was not found.", "Give a party code.")
    elif isinstance(customer, Party) and customer.kind == Party.Kind.VENDOR:
        problem("customer", f"{customer.code} is a vendor, not a customer.", "Give a customer.")
    bill_to = bill_tos.get(values.get("bill_to", "")) if values.get("bill_to") else None
    if values.get("bill_to") and not isinstance(bill_to, BillToEntity):
        problem(
            "bill_to",
            f"bill-to entity {values['bill_to']!r} was not found.",
            "Give a bill-to entity code of the customer, or leave it empty.",
        )
    received_on = None
    if values.get("received_on"):
        try:
            received_on = dt.date.fromisoformat(values["received_on"])
        except ValueError:
            problem("received_on", "the received date is not a date.", "Write it as YYYY-MM-DD.")
    currency = values.get("currency", "").upper()
    amount = None
    if currency and not is_currency(currency):
        problem(
            "currency",
            f"{currency!r} is not an ISO 4217 currency code.",
            "Use a three-letter code such as EUR, USD or JPY.",
        )
    elif values.get("amount") and currency:
        try:
            amount = payment_amount(values["amount"], currency, place=f"{place}, column amount")
        except BillguardError as error:
            problems.append(error)
    method = values.get("method") or Payment.Method.BANK_TRANSFER
    if len(problems) > count:
        return None
    assert isinstance(customer, Party)
    assert received_on is not None
    assert amount is not None
    return PaymentInput(
        customer=customer,
        bill_to=bill_to if isinstance(bill_to, BillToEntity) else None,
        received_on=received_on,
        currency=currency,
        amount=amount,
        method=method,
        reference=values.get("reference", ""),
        external_id=values["external_id"],
    )
