"""Recording customer payments and applying them to the customer's open invoices.

A recorded payment is matched to invoices by the first of these rules that finds one, and
only that rule applies:

1. reference: the payment reference contains the number of one or more of the customer's
   open invoices (case-insensitive, as a whole word). Each is paid up to its open amount,
   in the order the numbers appear in the reference.
2. exact amount: exactly one open invoice of the customer has an open amount equal to the
   payment amount.
3. oldest first, only when the caller asks for it: the customer's open invoices by due
   date, then issue date and number, each paid up to its open amount.

Only invoices in the payment's currency, of the payment's bill-to entity when it names one,
are matched. What no rule applies stays on the payment as unapplied cash, which
``payments_list`` shows, and is allocated later by hand with ``payment_allocate``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from billguard.billing.models import Invoice
from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.currencies import minor_units, validate_currency
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.domain.money import money_text, to_decimal
from billguard.receivables.balances import (
    InvoiceBalance,
    balances_of,
    customer_filter,
    invoice_customer_id,
    issued_invoices,
)
from billguard.receivables.models import Payment, PaymentAllocation
from billguard.registry.models import BillToEntity, Party

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

RULE_REFERENCE = "reference"
RULE_EXACT_AMOUNT = "exact amount"
RULE_OLDEST_FIRST = "oldest first"
RULE_MANUAL = "manual"


@dataclass(frozen=True)
class PaymentResult:
    payment: Payment
    allocations: list[PaymentAllocation]
    # The rule that matched, or "" when the whole payment stays unapplied.
    rule: str

    @property
    def unapplied(self) -> Decimal:
        return self.payment.amount - sum((a.amount for a in self.allocations), Decimal(0))


@dataclass(frozen=True)
class PaymentInput:
    """A payment as given by a user or a file row, before it is stored."""

    customer: Party
    received_on: dt.date
    currency: str
    amount: Decimal
    method: str = Payment.Method.BANK_TRANSFER
    reference: str = ""
    bill_to: BillToEntity | None = None
    source: str = ""
    external_id: str = ""


def customer_by_code(code: str, *, place: str = "--customer") -> Party:
    party = Party.objects.filter(code=code.strip()).first()
    if party is None:
        raise NotFound(
            f"customer {code!r} was not found.",
            place=place,
            value=code,
            fix="Give the party code, as `billguard parties list` shows it.",
        )
    if party.kind == Party.Kind.VENDOR:
        raise InvalidInput(
            f"{party.code} is a vendor, not a customer.",
            place=place,
            value=code,
            fix="Record payments from customers only.",
        )
    return party


def bill_to_by_code(code: str, customer: Party, *, place: str = "--bill-to") -> BillToEntity:
    bill_to = BillToEntity.objects.filter(code=code.strip()).first()
    if bill_to is None:
        raise NotFound(
            f"bill-to entity {code!r} was not found.",
            place=place,
            value=code,
            fix="Give the code of one of the customer's bill-to entities.",
        )
    if bill_to.party_id != customer.pk:
        raise InvalidInput(
            f"bill-to entity {bill_to.code} belongs to another customer than {customer.code}.",
            place=place,
            value=code,
            fix=f"Give a bill-to entity of {customer.code}, or leave it out.",
        )
    return bill_to


def payment_amount(value: object, currency: str, *, place: str = "--amount") -> Decimal:
    """Parse a payment or allocation amount: positive, with at most the currency's decimals."""
    amount = to_decimal(value, place=place)
    decimals = minor_units(currency)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > decimals:
        raise InvalidInput(
            f"{value} has more decimals than {currency} has ({decimals}, ISO 4217).",
            place=place,
            value=value,
            fix=f"Give the amount with at most {decimals} decimals.",
        )
    if amount <= 0:
        raise InvalidInput(
            f"the amount {value} is not positive.",
            place=place,
            value=value,
            fix="Give the amount received, greater than zero.",
        )
    return amount


def payment_record(
    *, data: PaymentInput, by: User, apply_oldest: bool = False, today: dt.date | None = None
) -> PaymentResult:
    """Store a payment and apply it to the customer's open invoices by the module's rules."""
    authorize(by, "payment_record")
    payment_validate(data, today=today)
    try:
        with transaction.atomic():
            result = payment_store(data, by=by, apply_oldest=apply_oldest)
    except IntegrityError:
        # Another request recorded the same external id after the check above.
        raise RuleViolation(
            f"a payment with external id {data.external_id!r} from "
            f"{data.source or 'no source'} is already recorded.",
            place="--external-id",
            value=data.external_id,
            fix="Each external id is recorded once per source.",
        ) from None
    logger.info(
        "recorded payment %s of %s from %s: %s applied, %s unapplied",
        result.payment.pk,
        money_text(data.amount, data.currency),
        data.customer.code,
        len(result.allocations),
        money_text(result.unapplied, data.currency),
    )
    return result


def payment_validate(data: PaymentInput, *, today: dt.date | None = None, place: str = "") -> None:
    """Raise InvalidInput or RuleViolation for a payment that cannot be stored."""

    def where(column: str, option: str) -> str:
        return f"{place}, column {column}" if place else option

    validate_currency(data.currency, place=where("currency", "--currency"))
    payment_amount(data.amount, data.currency, place=where("amount", "--amount"))
    if data.received_on > (today or timezone.localdate()):
        raise InvalidInput(
            f"the received date {data.received_on} is in the future.",
            place=where("received_on", "--received-on"),
            value=data.received_on,
            fix="Record a payment once it has been received.",
        )
    if data.method not in Payment.Method.values:
        raise InvalidInput(
            f"{data.method!r} is not a payment method.",
            place=where("method", "--method"),
            value=data.method,
            fix=f"Use one of: {', '.join(Payment.Method.values)}.",
        )
    if len(data.reference) > 200:
        raise InvalidInput(
            f"the reference is {len(data.reference)} characters long, over the limit of 200.",
            place=where("reference", "--reference"),
            fix="Keep the part that names the invoices.",
        )
    if data.bill_to is not None and data.bill_to.party_id != data.customer.pk:
        raise InvalidInput(
            f"bill-to entity {data.bill_to.code} belongs to another customer than "
            f"{data.customer.code}.",
            place=where("bill_to", "--bill-to"),
            value=data.bill_to.code,
        )
    if (
        data.external_id
        and Payment.objects.filter(source=data.source, external_id=data.external_id).exists()
    ):
        raise RuleViolation(
            f"a payment with external id {data.external_id!r} from {data.source or 'no source'} "
            "is already recorded.",
            place=where("external_id", "--external-id"),
            value=data.external_id,
            fix="Each external id is recorded once per source; list it with "
            "`billguard payments list`.",
        )


def payment_store(data: PaymentInput, *, by: User, apply_oldest: bool) -> PaymentResult:
    """Store a validated payment and apply it by the matching rules, with an audit entry.

    Runs in the caller's transaction; ``payment_record`` and the import validate first.
    """
    actor = by.get_username()
    payment = Payment.objects.create(
        customer=data.customer,
        bill_to=data.bill_to,
        received_on=data.received_on,
        currency=data.currency,
        amount=data.amount,
        method=data.method,
        reference=data.reference.strip(),
        source=data.source,
        external_id=data.external_id,
        created_by=actor,
    )
    rule, shares = match_payment(payment, apply_oldest=apply_oldest)
    allocations = [
        PaymentAllocation.objects.create(
            payment=payment, invoice=invoice, amount=amount, rule=rule, created_by=actor
        )
        for invoice, amount in shares
    ]
    audit_record(
        actor=actor,
        action="payment.record",
        record=payment,
        before=None,
        after={
            "customer": data.customer.code,
            "received_on": data.received_on,
            "currency": data.currency,
            "amount": data.amount,
            "reference": payment.reference,
            "external_id": data.external_id,
            "rule": rule,
            "allocations": {a.invoice.number: a.amount for a in allocations},
        },
    )
    return PaymentResult(payment=payment, allocations=allocations, rule=rule)


def open_balances(payment: Payment) -> list[InvoiceBalance]:
    """Return the customer's issued invoices in the payment's currency with something open,
    oldest due first, locked until the caller's transaction ends."""
    invoices = issued_invoices().filter(customer_filter(payment.customer_id))
    invoices = invoices.filter(currency=payment.currency)
    if payment.bill_to_id is not None:
        invoices = invoices.filter(bill_to_id=payment.bill_to_id)
    ordered = invoices.order_by("due_date", "issue_date", "number").select_for_update(of=("self",))
    # Open as of the far future: every payment and credit note stored so far counts.
    return [b for b in balances_of(ordered, dt.date.max) if b.open_amount > 0]


def match_payment(
    payment: Payment, *, apply_oldest: bool
) -> tuple[str, list[tuple[Invoice, Decimal]]]:
    """Return the rule that matched and the (invoice, amount) shares of ``payment``."""
    balances = open_balances(payment)
    named = _named_in_reference(payment.reference, balances)
    if named:
        return RULE_REFERENCE, _shares(payment.amount, named)
    exact = [b for b in balances if b.open_amount == payment.amount]
    if len(exact) == 1:
        return RULE_EXACT_AMOUNT, [(exact[0].invoice, payment.amount)]
    if apply_oldest and balances:
        return RULE_OLDEST_FIRST, _shares(payment.amount, balances)
    return "", []


def _named_in_reference(reference: str, balances: list[InvoiceBalance]) -> list[InvoiceBalance]:
    found = []
    for balance in balances:
        number = re.escape(str(balance.invoice.number))
        match = re.search(rf"(?<![A-Za-z0-9]){number}(?![A-Za-z0-9])", reference, re.IGNORECASE)
        if match is not None:
            found.append((match.start(), balance))
    found.sort(key=lambda item: item[0])
    return [balance for _, balance in found]


def _shares(amount: Decimal, balances: list[InvoiceBalance]) -> list[tuple[Invoice, Decimal]]:
    shares = []
    left = amount
    for balance in balances:
        if left <= 0:
            break
        share = min(left, balance.open_amount)
        shares.append((balance.invoice, share))
        left -= share
    return shares


def payment_by_id(payment_id: int, *, place: str = "PAYMENT") -> Payment:
    payment = Payment.objects.select_related("customer", "bill_to").filter(pk=payment_id).first()
    if payment is None:
        raise NotFound(
            f"payment {payment_id} was not found.",
            place=place,
            value=payment_id,
            fix="List the payments with `billguard payments list`.",
        )
    return payment


def payment_allocate(
    *, payment: Payment, invoice: Invoice, amount: Decimal, by: User
) -> PaymentAllocation | None:
    """Set the part of ``payment`` applied to ``invoice`` to ``amount``; 0 removes it.

    Re-allocating moves money by setting one invoice's share lower and another's higher.
    The payment's allocations never exceed its amount, and an invoice's never exceed what
    is left of it after credit notes and other payments. Returns None when removed.
    """
    authorize(by, "payment_record")
    amount = to_decimal(amount, place="--amount")
    if amount != 0:
        payment_amount(amount, payment.currency)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        _allocation_validate(payment, invoice, amount)
        existing = PaymentAllocation.objects.filter(payment=payment, invoice=invoice).first()
        before = existing.amount if existing is not None else Decimal(0)
        allocation: PaymentAllocation | None
        if amount == 0:
            if existing is None:
                raise RuleViolation(
                    f"payment {payment.pk} is not applied to invoice {invoice.number}.",
                    place="--amount",
                    value=amount,
                    fix="Give an amount greater than zero to apply it.",
                )
            existing.delete()
            allocation = None
        elif existing is None:
            allocation = PaymentAllocation.objects.create(
                payment=payment,
                invoice=invoice,
                amount=amount,
                rule=RULE_MANUAL,
                created_by=by.get_username(),
            )
        else:
            existing.amount = amount
            existing.rule = RULE_MANUAL
            existing.save(update_fields=["amount", "rule"])
            allocation = existing
        audit_record(
            actor=by.get_username(),
            action="payment.allocate",
            record=payment,
            before={"invoice": invoice.number, "amount": before},
            after={"invoice": invoice.number, "amount": amount},
        )
    logger.info(
        "payment %s applied to invoice %s: %s (was %s)", payment.pk, invoice.number, amount, before
    )
    return allocation


def _allocation_validate(payment: Payment, invoice: Invoice, amount: Decimal) -> None:
    if invoice.status != Invoice.Status.ISSUED or invoice.document_type != "invoice":
        raise RuleViolation(
            f"{invoice} is not an issued invoice, so no payment applies to it.",
            place="--invoice",
            value=str(invoice),
            fix="Apply payments to issued invoices, not to drafts or credit notes.",
        )
    if invoice.currency != payment.currency:
        raise RuleViolation(
            f"invoice {invoice.number} is in {invoice.currency}, payment {payment.pk} in "
            f"{payment.currency}.",
            place="--invoice",
            value=invoice.number,
            fix="Apply a payment only to invoices in its own currency.",
        )
    invoice = issued_invoices().get(pk=invoice.pk)
    if invoice_customer_id(invoice) != payment.customer_id:
        raise RuleViolation(
            f"invoice {invoice.number} is not an invoice of {payment.customer.code}.",
            place="--invoice",
            value=invoice.number,
            fix="Apply a payment only to the invoices of the customer who paid.",
        )
    others = PaymentAllocation.objects.filter(payment=payment).exclude(invoice=invoice)
    applied_elsewhere = others.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    left = payment.amount - applied_elsewhere
    if amount > left:
        raise RuleViolation(
            f"payment {payment.pk} has {money_text(left, payment.currency)} left to apply, "
            f"not {money_text(amount, payment.currency)}.",
            place="--amount",
            value=amount,
            fix="Lower the amount, or first lower the payment's share of another invoice.",
        )
    balance = balances_of([invoice], dt.date.max)[0]
    current = PaymentAllocation.objects.filter(payment=payment, invoice=invoice).first()
    room = balance.open_amount + (current.amount if current is not None else Decimal(0))
    if amount > room:
        raise RuleViolation(
            f"invoice {invoice.number} has {money_text(room, invoice.currency)} open for this "
            f"payment, less than {money_text(amount, invoice.currency)}.",
            place="--amount",
            value=amount,
            fix="Apply at most the open amount; the rest stays unapplied on the payment.",
        )


@dataclass(frozen=True)
class PaymentRow:
    payment: Payment
    allocations: list[PaymentAllocation]

    @property
    def applied(self) -> Decimal:
        return sum((allocation.amount for allocation in self.allocations), Decimal(0))

    @property
    def unapplied(self) -> Decimal:
        return self.payment.amount - self.applied


# Payment ids per allocation query, below SQLite's limit on the depth of an expression.
_ID_BATCH = 500


def payments_list(
    *,
    customer: Party | None = None,
    unapplied_only: bool = False,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> list[PaymentRow]:
    """Return payments by received date, oldest first, with their allocations."""
    payments = Payment.objects.select_related("customer", "bill_to")
    if customer is not None:
        payments = payments.filter(customer=customer)
    if since is not None:
        payments = payments.filter(received_on__gte=since)
    if until is not None:
        payments = payments.filter(received_on__lte=until)
    listed = list(payments.order_by("received_on", "pk"))
    ids = [payment.pk for payment in listed]
    allocations: dict[int, list[PaymentAllocation]] = {pk: [] for pk in ids}
    for first in range(0, len(ids), _ID_BATCH):
        for allocation in (
            PaymentAllocation.objects.filter(payment_id__in=ids[first : first + _ID_BATCH])
            .select_related("invoice")
            .order_by("pk")
        ):
            allocations[allocation.payment_id].append(allocation)
    rows = [PaymentRow(payment, allocations[payment.pk]) for payment in listed]
    if unapplied_only:
        rows = [row for row in rows if row.unapplied > 0]
    return rows
