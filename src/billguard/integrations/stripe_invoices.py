"""Map a Stripe invoice object to the draft that the checks read.

The fields are those of the invoice object in Stripe's API reference. Stripe states amounts
as integers in the currency's smallest unit, and the currency in lower case. The mapping
converts them to decimals in the currency's unit, fills the draft JSON layout of
billguard.integrations.drafts, and builds the InvoiceDocument from it, so a Stripe draft
goes through the same parsing and checks as a JSON draft.

How the draft finds its contract, first match wins:

- ``metadata.contract_number`` on the invoice, on its subscription (the
  ``parent.subscription_details.metadata`` snapshot, or ``subscription_details.metadata`` in
  API versions before 2025-03-31) or on the customer when the event expands it;
- otherwise guard mode resolves the contract from the customer PO and the buyer's tax ID. The
  PO is ``metadata.customer_po`` (same places), or an invoice custom field named "PO",
  "PO number", "Purchase order" or "Purchase order number".

Each line may name its contract line with ``metadata.contract_line`` (on the line, or on its
price in API versions before 2025-03-31) and its GL account with ``metadata.gl_account``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from billguard.checks.external import ExternalDraft
from billguard.domain.currencies import is_currency, minor_units
from billguard.domain.errors import InvalidInput
from billguard.integrations.draft_fields import DraftRecord, build_document

# Stripe's zero-decimal currencies: amounts are whole units, not hundredths (Stripe's
# "Supported currencies" page). MGA has 2 minor units in ISO 4217 but none in Stripe.
STRIPE_ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
# Stripe's three-decimal currencies, stated in thousandths.
STRIPE_THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
# Every other currency, including ISK (0 minor units in ISO 4217), is stated in hundredths.
STRIPE_DEFAULT_EXPONENT = 2

CONTRACT_KEY = "contract_number"
PO_KEY = "customer_po"
LINE_CONTRACT_KEY = "contract_line"
LINE_GL_KEY = "gl_account"
PO_FIELD_NAMES = frozenset({"po", "po number", "purchase order", "purchase order number"})

# VAT category (UNCL 5305) and exemption reason of an untaxed line, by Stripe's
# customer_tax_exempt or the line tax's taxability_reason.
_UNTAXED_CATEGORIES = {
    "reverse": ("AE", "Reverse charge"),
    "reverse_charge": ("AE", "Reverse charge"),
    "exempt": ("E", "Exempt from tax"),
    "customer_exempt": ("E", "Exempt from tax"),
    "product_exempt": ("E", "Exempt from tax"),
    "zero_rated": ("Z", ""),
}
_NOT_SUBJECT = ("O", "Not subject to VAT")
# A unit price computed from a net amount keeps 6 decimals, as the contract prices do.
UNIT_PRICE_STEP = Decimal("0.000001")


def stripe_exponent(currency: str) -> int:
    """Return the decimals of Stripe's smallest unit of ``currency`` (upper-case ISO code)."""
    if currency in STRIPE_ZERO_DECIMAL:
        return 0
    if currency in STRIPE_THREE_DECIMAL:
        return 3
    return STRIPE_DEFAULT_EXPONENT


def stripe_invoice_draft(invoice: Mapping[str, Any], *, place: str) -> ExternalDraft:
    """Map a Stripe invoice object to a checked-ready draft, or raise InvalidInput.

    ``place`` names the object in errors, such as "event evt_1, data.object".
    """
    reader = _StripeInvoice(invoice, place)
    header, lines = reader.draft_fields()
    location = f"{place} (Stripe invoice {reader.invoice_id})"
    document = build_document(
        DraftRecord(header, location, "draft field"),
        [
            DraftRecord(line, f"{location}, lines.data[{index}]", "draft field")
            for index, line in enumerate(lines)
        ],
        source=f"stripe:{reader.invoice_id}",
    )
    return ExternalDraft(document=document, external_id=reader.invoice_id, details=reader.details())


class _StripeInvoice:
    """Reads one invoice object, naming the Stripe field of every bad value."""

    def __init__(self, invoice: Mapping[str, Any], place: str) -> None:
        if not isinstance(invoice, Mapping):
            raise InvalidInput(
                "the event's object is not a JSON object.",
                place=place,
                fix="Send the invoice object of Stripe's API as data.object.",
            )
        self.invoice = invoice
        self.place = place
        self.invoice_id = self._text(invoice, "id", required=True)
        currency = self._text(invoice, "currency", required=True).upper()
        if not is_currency(currency):
            raise InvalidInput(
                f"{invoice.get('currency')!r} is not an ISO 4217 currency code.",
                place=f"{place}, currency",
                value=invoice.get("currency"),
                fix="Send the invoice as Stripe states it, with a currency such as eur.",
            )
        self.currency = currency
        self.exponent = stripe_exponent(currency)

    def draft_fields(self) -> tuple[dict[str, object], list[dict[str, object]]]:
        invoice = self.invoice
        address = invoice.get("customer_address") or {}
        header: dict[str, object] = {
            "invoice_ref": self._text(invoice, "number") or self.invoice_id,
            "currency": self.currency,
            "seller_name": self._text(invoice, "account_name")
            or self._text(invoice, "account_country"),
            "buyer_name": self._text(invoice, "customer_name")
            or self._text(invoice, "customer_email")
            or self._customer_id(),
            "buyer_tax_id": self._buyer_tax_id(),
            "buyer_country": self._text(address, "country", field="customer_address.country"),
            "customer_po": self._metadata_value(PO_KEY) or self._custom_field_po(),
            "contract_ref": self._metadata_value(CONTRACT_KEY),
        }
        if not header["seller_name"]:
            raise InvalidInput(
                "account_name is empty, so the draft has no seller name.",
                place=f"{self.place}, account_name",
                fix="Set the business name in the Stripe account's public details.",
            )
        lines_object = invoice.get("lines")
        data = lines_object.get("data") if isinstance(lines_object, Mapping) else None
        if not isinstance(data, list) or not data:
            raise InvalidInput(
                "lines.data is missing or empty, but a draft needs at least one line.",
                place=f"{self.place}, lines.data",
                fix="Add an invoice item to the Stripe invoice before it is finalised.",
            )
        # NOTE: an event carries the first page of lines only (lines.has_more is then true).
        # The lines after it are not checked, and details.lines_not_checked records that.
        lines = [self._line(line, index) for index, line in enumerate(data)]
        return header, lines

    def details(self) -> dict[str, Any]:
        """Facts kept with the stored check that the checks do not read."""
        invoice = self.invoice
        lines_object = invoice.get("lines") or {}
        return {
            "stripe_invoice": self.invoice_id,
            "customer": self._customer_id(),
            "customer_email": invoice.get("customer_email") or "",
            "status": invoice.get("status") or "",
            "billing_reason": invoice.get("billing_reason") or "",
            "livemode": bool(invoice.get("livemode")),
            "due_date": self._date(invoice.get("due_date"), "due_date"),
            "period_start": self._date(invoice.get("period_start"), "period_start"),
            "period_end": self._date(invoice.get("period_end"), "period_end"),
            "subtotal": self._optional_amount(invoice, "subtotal"),
            "tax": self._optional_amount(invoice, "tax"),
            "total": self._optional_amount(invoice, "total"),
            "lines_not_checked": bool(
                isinstance(lines_object, Mapping) and lines_object.get("has_more")
            ),
        }

    def _line(self, line: object, index: int) -> dict[str, object]:
        place = f"{self.place}, lines.data[{index}]"
        if not isinstance(line, Mapping):
            raise InvalidInput(
                "the line is not a JSON object.",
                place=place,
                fix="Send the lines as Stripe's line item objects.",
            )

        quantity = self._quantity(line, place)
        amount = self._amount(line, "amount", place)
        discounts = sum(
            self._amount(d, "amount", f"{place}, discount_amounts[{i}]")
            for i, d in enumerate(line.get("discount_amounts") or [])
        )
        inclusive_tax = sum(
            self._amount(t, "amount", f"{place}, taxes[{i}]")
            for i, t in enumerate(_line_taxes(line))
            if t.get("tax_behavior") == "inclusive" or t.get("inclusive") is True
        )
        net = amount - discounts - inclusive_tax
        unit_price = self._unit_price(line, place)
        if net != amount or unit_price is None:
            # A discount or an included tax changes what one unit costs the customer, so the
            # price checked is the net amount per unit.
            unit_price = (net / quantity if quantity else net).quantize(UNIT_PRICE_STEP)
        unit_price = abs(unit_price)
        if net < 0 and quantity > 0:
            quantity = -quantity  # a credit line: EN 16931 keeps prices positive (BR-27)

        category, rate, reason = self._tax(line, place, net)
        period = line.get("period") or {}
        start = self._date(period.get("start"), f"lines.data[{index}].period.start")
        end = self._period_end(period, index)
        metadata = _mapping(line.get("metadata"))
        price_metadata = _mapping(_mapping(line.get("price")).get("metadata"))
        return {
            "line_id": self._text(line, "id") or str(index + 1),
            "description": self._text(line, "description") or f"Stripe line {index + 1}",
            "quantity": quantity,
            "unit_price": unit_price,
            "net_amount": net,
            "tax_category": category,
            "tax_rate": rate,
            "exemption_reason": reason,
            "item_id": str(
                metadata.get(LINE_CONTRACT_KEY) or price_metadata.get(LINE_CONTRACT_KEY) or ""
            ),
            "gl_account": str(metadata.get(LINE_GL_KEY) or ""),
            "period_start": start,
            "period_end": end,
        }

    def _quantity(self, line: Mapping[str, Any], place: str) -> Decimal:
        raw = line.get("quantity_decimal")
        if raw in (None, ""):
            raw = line.get("quantity")
        if raw is None:
            return Decimal(1)  # a one-off amount without a quantity
        quantity = _decimal(raw)
        if quantity is None:
            raise InvalidInput(
                f"{raw!r} is not a quantity.",
                place=f"{place}, quantity",
                value=raw,
                fix="Send the line's quantity as Stripe states it, an integer.",
            )
        return quantity

    def _unit_price(self, line: Mapping[str, Any], place: str) -> Decimal | None:
        """Return the unit price in currency units, from pricing or (before 2025-03-31) price."""
        for name in ("pricing", "price", "plan"):
            holder = _mapping(line.get(name))
            for key in ("unit_amount_decimal", "unit_amount", "amount_decimal", "amount"):
                raw = holder.get(key)
                if raw in (None, ""):
                    continue
                smallest = _decimal(raw)
                if smallest is None:
                    raise InvalidInput(
                        f"{raw!r} is not an amount.",
                        place=f"{place}, {name}.{key}",
                        value=raw,
                        fix="Send the amount in the currency's smallest unit, such as 1250.",
                    )
                return smallest.scaleb(-self.exponent)
        return None

    def _tax(self, line: Mapping[str, Any], place: str, net: Decimal) -> tuple[str, object, str]:
        """Return the line's VAT category, rate in percent and exemption reason."""
        percentages = [
            _decimal(rate.get("percentage"))
            for rate in (line.get("tax_rates") or self.invoice.get("default_tax_rates") or [])
            if isinstance(rate, Mapping) and rate.get("percentage") is not None
        ]
        taxes = _line_taxes(line)
        tax_amount = sum(self._amount(t, "amount", f"{place}, taxes") for t in taxes)

        if not percentages and tax_amount and net:
            # Without the tax rate objects, the rate is what the tax amount makes of the net
            # amount. NOTE: rounded to 0.1 %, which may misread a rate on a very small line.
            taxable = sum(
                self._amount(t, "taxable_amount", f"{place}, taxes")
                for t in taxes
                if t.get("taxable_amount") is not None
            )
            base = taxable or abs(net)
            percentages = [(tax_amount * 100 / base).quantize(Decimal("0.1"))]
        rate = sum((p for p in percentages if p is not None), Decimal(0))
        if rate > 0:
            return "S", rate, ""

        reasons = [str(t.get("taxability_reason") or "") for t in taxes]
        reasons.append(str(self.invoice.get("customer_tax_exempt") or ""))
        for reason in reasons:
            if reason in _UNTAXED_CATEGORIES:
                category, text = _UNTAXED_CATEGORIES[reason]
                return category, (None if category == "O" else 0), text
        if percentages:
            return "Z", 0, ""
        return _NOT_SUBJECT[0], None, _NOT_SUBJECT[1]

    def _period_end(self, period: Mapping[str, Any], index: int) -> str:
        """Return the last day of service: Stripe's period end is the next period's start."""
        start, end = period.get("start"), period.get("end")
        name = f"lines.data[{index}].period.end"
        if isinstance(end, int) and isinstance(start, int) and end > start:
            return self._date(end - 1, name)
        return self._date(end, name)

    def _buyer_tax_id(self) -> str:
        tax_ids = [t for t in self.invoice.get("customer_tax_ids") or [] if isinstance(t, Mapping)]
        vat_ids = [t for t in tax_ids if str(t.get("type", "")).endswith("_vat")]
        chosen = (vat_ids or tax_ids or [{}])[0]
        return str(chosen.get("value") or "")

    def _customer_id(self) -> str:
        customer = self.invoice.get("customer")
        if isinstance(customer, Mapping):
            return str(customer.get("id") or "")
        return str(customer or "")

    def _metadata_value(self, key: str) -> str:
        """Return the first non-empty ``key`` of the invoice, subscription or customer metadata."""
        invoice = self.invoice
        parent = _mapping(invoice.get("parent"))
        holders = [
            invoice.get("metadata"),
            _mapping(parent.get("subscription_details")).get("metadata"),
            _mapping(invoice.get("subscription_details")).get("metadata"),
            _mapping(invoice.get("customer")).get("metadata"),
        ]
        for holder in holders:
            value = _mapping(holder).get(key)
            if value not in (None, ""):
                return str(value).strip()
        return ""

    def _custom_field_po(self) -> str:
        for custom_field in self.invoice.get("custom_fields") or []:
            if not isinstance(custom_field, Mapping):
                continue
            if str(custom_field.get("name", "")).strip().lower() in PO_FIELD_NAMES:
                return str(custom_field.get("value") or "").strip()
        return ""

    def _amount(self, holder: Mapping[str, Any], key: str, place: str) -> Decimal:
        """Return an amount stated in the smallest unit as a decimal in the currency's unit."""
        raw = holder.get(key) if isinstance(holder, Mapping) else None
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise InvalidInput(
                f"{key} is {raw!r}, but Stripe states amounts as integers.",
                place=f"{place}, {key}",
                value=raw,
                fix="Send the amount in the currency's smallest unit, such as 1250 for 12.50.",
            )
        amount = Decimal(raw).scaleb(-self.exponent)
        decimals = minor_units(self.currency)
        if amount != amount.quantize(Decimal(1).scaleb(-decimals)):
            raise InvalidInput(
                f"{key} {raw} is {amount} {self.currency}, which has {decimals} decimals in "
                "ISO 4217.",
                place=f"{place}, {key}",
                value=raw,
                fix=f"Bill {self.currency} in whole minor units of ISO 4217.",
            )
        return amount.quantize(Decimal(1).scaleb(-decimals))

    def _optional_amount(self, holder: Mapping[str, Any], key: str) -> str | None:
        if holder.get(key) is None:
            return None
        return format(self._amount(holder, key, self.place), "f")

    def _date(self, timestamp: object, name: str) -> str:
        """Return a Unix timestamp as an ISO date in UTC, or "" for null."""
        if timestamp is None:
            return ""
        if isinstance(timestamp, bool) or not isinstance(timestamp, int):
            raise InvalidInput(
                f"{name} is {timestamp!r}, but Stripe states times as Unix timestamps.",
                place=f"{self.place}, {name}",
                value=timestamp,
                fix="Send the time in seconds since 1970-01-01 UTC.",
            )
        # NOTE: days are read in UTC; a period that starts at midnight in another time zone
        # starts on the UTC day, which may be the day before.
        return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).date().isoformat()

    def _text(
        self, holder: Mapping[str, Any], key: str, *, required: bool = False, field: str = ""
    ) -> str:
        value = holder.get(key) if isinstance(holder, Mapping) else None
        if value is None or value == "":
            if required:
                raise InvalidInput(
                    f"{field or key} is missing.",
                    place=f"{self.place}, {field or key}",
                    fix=f"Send the invoice object with its {field or key}.",
                )
            return ""
        if not isinstance(value, str):
            raise InvalidInput(
                f"{field or key} is {value!r}, not a string.",
                place=f"{self.place}, {field or key}",
                value=value,
                fix="Send the invoice object as Stripe's API states it.",
            )
        return value.strip()


def _line_taxes(line: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the line's tax amounts: ``taxes`` since 2025-03-31, ``tax_amounts`` before."""
    taxes = line.get("taxes")
    if taxes is None:
        taxes = line.get("tax_amounts")
    return [tax for tax in taxes or [] if isinstance(tax, Mapping)]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest text that reads back as the same float
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None
