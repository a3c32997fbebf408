"""The rows of an import, read from any source into one shape, and the problems found.

Each reader (Salesforce, HubSpot, a mapped file) turns its files into these records and
collects every problem it finds, each naming the file, row, column, value and fix. The writer
then takes the records into the registry.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import pycountry

from billguard.domain.currencies import is_currency
from billguard.domain.errors import BillguardError, InvalidInput
from billguard.registry.validation import require_country


def place_text(file: str, row: int | None = None, column: str | None = None) -> str:
    """Return "Account.csv, row 3, column BillingCountry" (rows as a spreadsheet numbers them)."""
    parts = [file]
    if row is not None:
        parts.append(f"row {row}")
    if column:
        parts.append(f"column {column}")
    return ", ".join(parts)


def problem_text(problem: BillguardError) -> str:
    """Return one problem as one line: place, message, the value when the message lacks it, fix."""
    text = f"{problem.place}: {problem.message}" if problem.place else problem.message
    value = "" if problem.value is None else str(problem.value)
    if value and value not in problem.message:
        text += f" (value {value!r})"
    if problem.fix:
        text += f" {problem.fix}"
    return text


class ImportInvalid(InvalidInput):
    """An import with one or more bad values; ``problems`` lists every one. Nothing was written."""

    code = "IMPORT_INVALID"

    def __init__(self, problems: Sequence[BillguardError]) -> None:
        lines = "\n".join(f"  {problem_text(problem)}" for problem in problems)
        super().__init__(
            f"{len(problems)} problem(s), nothing was imported:\n{lines}",
            value=problems[0].value if problems else None,
            fix="Correct each value listed in the export or file, then import it again.",
        )
        self.problems = list(problems)

    def __str__(self) -> str:
        return f"{self.message}\n{self.fix}"


@dataclass
class Problems:
    """Every problem found in the files of one import, in the order found."""

    items: list[BillguardError] = field(default_factory=list)

    def add(
        self,
        message: str,
        *,
        file: str,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        fix: str | None = None,
    ) -> None:
        self.items.append(
            InvalidInput(message, place=place_text(file, row, column), value=value, fix=fix)
        )

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass
class Cell:
    """One value of a row, with where it came from, for the messages."""

    file: str
    row: int
    column: str
    text: str

    def problem(self, problems: Problems, message: str, fix: str) -> None:
        problems.add(
            message, file=self.file, row=self.row, column=self.column, value=self.text, fix=fix
        )


def parse_date(cell: Cell, problems: Problems, *, required: bool = False) -> dt.date | None:
    """Read an ISO 8601 date; a date-time ("2026-03-15 14:00", "2026-03-15T14:00:00Z") counts
    as its date, because the CRM exports write date properties that way."""
    text = cell.text.strip()
    if not text:
        if required:
            cell.problem(problems, f"{cell.column} is empty.", "Give the date as YYYY-MM-DD.")
        return None
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})([T ].*)?", text)
    try:
        if match is None:
            raise ValueError(text)
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        cell.problem(
            problems,
            f"{text!r} is not a date.",
            "Write it as YYYY-MM-DD, such as 2026-03-15.",
        )
        return None


def parse_decimal(
    cell: Cell,
    problems: Problems,
    *,
    required: bool = False,
    positive: bool = False,
    what: str = "number",
) -> Decimal | None:
    """Read a decimal number with a dot as the decimal separator; never a float.

    Negative numbers are always rejected, and zero as well when ``positive`` is set.
    """
    text = cell.text.strip()
    if not text:
        if required:
            cell.problem(problems, f"{cell.column} is empty.", f"Give the {what}.")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        cell.problem(
            problems,
            f"{text!r} is not a number.",
            "Write it with a dot as the decimal separator and no thousands separator, "
            "such as 1250.50.",
        )
        return None
    if value < 0 or (positive and value == 0):
        bound = "more than zero" if positive else "zero or more"
        sign = "negative" if value < 0 else "zero"
        cell.problem(problems, f"the {what} {text} is {sign}.", f"It must be {bound}.")
        return None
    return value


def parse_whole(cell: Cell, problems: Problems, *, what: str) -> int | None:
    text = cell.text.strip()
    if not text:
        return None
    if not text.isdigit():
        cell.problem(problems, f"{text!r} is not a whole number.", f"Give the {what}, such as 12.")
        return None
    return int(text)


def parse_currency(cell: Cell, problems: Problems) -> str | None:
    text = cell.text.strip()
    if not is_currency(text):
        cell.problem(
            problems,
            f"{text!r} is not an ISO 4217 currency code." if text else f"{cell.column} is empty.",
            "Use a three-letter code in capitals, such as EUR, USD or JPY.",
        )
        return None
    return text


def parse_country(cell: Cell, problems: Problems) -> str | None:
    """Read a country as an ISO 3166-1 code (DE, DEU) or its English name ("Germany").

    CRM exports hold the country as typed (HubSpot's Country/Region, Salesforce's
    BillingCountry without country picklists), so names are looked up with pycountry.
    """
    text = cell.text.strip()
    try:
        return require_country(text, field=cell.column)
    except InvalidInput:
        pass
    try:
        return str(pycountry.countries.lookup(text).alpha_2) if text else None
    except LookupError:
        pass
    cell.problem(
        problems,
        f"{text!r} is not a country code or English country name."
        if text
        else f"{cell.column} is empty.",
        "Write the ISO 3166-1 code, such as DE, GB or US, or the English name, such as Germany.",
    )
    return None


def require_value(cell: Cell, problems: Problems, *, what: str) -> str | None:
    text = cell.text.strip()
    if not text:
        cell.problem(problems, f"{cell.column} is empty.", f"Give the {what}.")
        return None
    return text


@dataclass
class CustomerIn:
    """A customer: the party, its bill-to entity and its billing contact."""

    external_id: str
    place: str
    name: str
    country: str
    street: str = ""
    city: str = ""
    postcode: str = ""
    subdivision: str = ""
    tax_id: str = ""
    contact_name: str = ""
    contact_email: str = ""
    # A party code to match an existing party by, when the file gives one.
    code: str = ""


@dataclass
class PriceItemIn:
    external_id: str
    place: str
    product_code: str
    unit_price: Decimal
    valid_from: dt.date


@dataclass
class PriceListIn:
    external_id: str
    place: str
    name: str
    currency: str
    items: list[PriceItemIn] = field(default_factory=list)


@dataclass
class LineIn:
    line_code: str
    place: str
    description: str
    quantity: Decimal
    unit_price: Decimal | None
    product_code: str = ""
    kind: str = "recurring_fixed"


@dataclass
class ContractIn:
    """A contract and the terms of its first version."""

    external_id: str
    place: str
    number: str
    customer_ref: str
    start: dt.date
    currency: str
    title: str = ""
    end_date: dt.date | None = None
    price_list_ref: str = ""
    payment_terms_days: int | None = None
    cadence: str = ""
    active: bool = True
    contract_type: str = ""
    lines: list[LineIn] = field(default_factory=list)
    # False when the files gave no lines for the contract: its registry lines are kept.
    lines_given: bool = True


@dataclass
class ImportBatch:
    """Everything read from the files of one import, in the order the writer takes it."""

    source: str
    customers: list[CustomerIn] = field(default_factory=list)
    price_lists: list[PriceListIn] = field(default_factory=list)
    contracts: list[ContractIn] = field(default_factory=list)
    # Lines for contracts imported earlier or in this batch, by contract external ID.
    contract_lines: dict[str, list[LineIn]] = field(default_factory=dict)
    # Party code prefix of the records this batch creates ("SF", "HS").
    code_prefix: str = ""

    def size(self) -> int:
        return (
            len(self.customers)
            + len(self.price_lists)
            + len(self.contracts)
            + len(self.contract_lines)
        )


def check_unique(
    problems: Problems, ids: list[tuple[str, str, int]], *, column: str, what: str
) -> None:
    """Report every external ID that appears on more than one row: (id, file, row) tuples."""
    seen: dict[str, int] = {}
    for external_id, file, row in ids:
        if not external_id:
            continue
        if external_id in seen:
            problems.add(
                f"{what} {external_id} appears twice (first on row {seen[external_id]}).",
                file=file,
                row=row,
                column=column,
                value=external_id,
                fix="Keep one row per record; remove the duplicate or give it its own ID.",
            )
        else:
            seen[external_id] = row
