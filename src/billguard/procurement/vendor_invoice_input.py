"""A vendor invoice as entered or read from a file, before it is validated and stored.

Every channel (the ``record`` command's JSON, the CSV layout, UBL 2.1) builds the same
``VendorInvoiceInput``, so that one validation applies whatever the source. Each value keeps
where it came from (file, row and column, or element path), so that an error names it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from billguard.domain.errors import BillguardError, InvalidInput

# ASCII digits only: a digit group is a run of 0-9, whatever the script around it.
_DIGIT_GROUP = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class VendorInvoiceLineInput:
    """One invoice line: what the vendor billed against one purchase order line.

    The line net amount is ``quantity * unit_price / price_base_quantity`` rounded to the
    currency's minor unit, minus ``allowances``, plus ``charges`` (the EN 16931 line net
    amount, BT-131). The CSV and JSON layouts have neither a base quantity nor allowances, so
    there the net amount is the quantity times the unit price.
    """

    line_number: int
    order_line: int | None
    quantity: Decimal
    unit_price: Decimal
    net_amount: Decimal
    description: str = ""
    unit_code: str = "C62"
    price_base_quantity: Decimal = Decimal(1)
    allowances: Decimal = Decimal(0)
    charges: Decimal = Decimal(0)
    source_row: int | None = None
    # Where each field came from ("column quantity", "cac:InvoiceLine[2]/cbc:ID"), by field.
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VendorInvoiceInput:
    """A vendor invoice to record: the vendor, the purchase order, the lines and the totals.

    ``vendor`` is the vendor's party code and ``purchase_order`` the order number.
    ``seller_entity`` is the code of our entity the invoice is addressed to; when empty, the
    order's entity is taken. ``net_amount`` is the sum of the line net amounts, less
    ``allowance_total`` and plus ``charge_total`` (document level), and
    ``net_amount + tax_amount`` is ``gross_amount`` (EN 16931 BR-CO-13 and BR-CO-15).
    """

    vendor: str
    purchase_order: str
    number: str
    issue_date: dt.date
    currency: str
    lines: Sequence[VendorInvoiceLineInput]
    net_amount: Decimal
    tax_amount: Decimal
    gross_amount: Decimal
    seller_entity: str = ""
    due_date: dt.date | None = None
    payee_iban: str = ""
    allowance_total: Decimal = Decimal(0)
    charge_total: Decimal = Decimal(0)
    source: str = "entered"
    source_file: str = ""
    source_row: int | None = None
    source_sha256: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)

    def place(self, name: str) -> str:
        """Return where the invoice-level field ``name`` came from, for error messages."""
        return describe_place(self.source_file, self.source_row, self.columns.get(name, name))

    def line_place(self, line: VendorInvoiceLineInput, name: str) -> str:
        """Return where field ``name`` of ``line`` came from, for error messages."""
        label = line.columns.get(name, f"line {line.line_number}, {name}")
        return describe_place(self.source_file, line.source_row, label)


class VendorInvoiceInvalid(InvalidInput):
    """One or more vendor invoices with invalid values; ``problems`` lists every one of them.

    Nothing is written when this is raised: a file is recorded whole or not at all.
    """

    code = "VENDOR_INVOICE_INVALID"

    def __init__(self, source: str, problems: Sequence[BillguardError]) -> None:
        first = problems[0]
        lines = "\n".join(f"  {problem_text(problem)}" for problem in problems)
        super().__init__(
            f"{len(problems)} problem(s), nothing was recorded:\n{lines}",
            place=source or None,
            value=first.value,
            fix="Correct each value listed, then record or import the invoices again.",
        )
        self.problems = list(problems)

    def __str__(self) -> str:
        # One problem a line, and the advice on a line of its own after them.
        head = f"{self.place}: {self.message}" if self.place else self.message
        return f"{head}\n{self.fix}" if self.fix else head


def normalize_invoice_number(number: str) -> str:
    """Return the vendor invoice number in the form used to find duplicates.

    Upper case, with the leading zeros of each digit group dropped and every character other
    than a letter or digit removed, so that "inv-000123", "INV 123" and "Inv.0123" are all
    "INV123". Digit groups are taken before punctuation is removed: "2026-0001" is "20261".
    """
    text = _DIGIT_GROUP.sub(lambda match: match.group().lstrip("0") or "0", number.upper())
    return "".join(character for character in text if character.isalnum())


def describe_place(source_file: str, row: int | None, label: str) -> str:
    """Return "invoices.csv, row 3, column quantity", or the parts of it that are known."""
    parts = [source_file] if source_file else []
    if row is not None:
        parts.append(f"row {row}")
    if label:
        parts.append(label)
    return ", ".join(parts)


def problem_text(problem: BillguardError) -> str:
    """Return a problem as one line: place, message, the value when the message lacks it, fix."""
    text = f"{problem.place}: {problem.message}" if problem.place else problem.message
    value = "" if problem.value is None else str(problem.value)
    if value and value not in problem.message:
        text += f" (value {value!r})"
    if problem.fix:
        text += f" {problem.fix}"
    return text
