import datetime as dt
from decimal import Decimal

import pytest

from billguard.billing.credit import credit_note_issue
from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotAllowed, RuleViolation
from billguard.receivables.balances import (
    CREDITED,
    OPEN,
    OVERDUE,
    PAID,
    PARTIALLY_PAID,
    balance_of,
)
from billguard.receivables.models import PaymentAllocation
from billguard.receivables.payments import (
    RULE_EXACT_AMOUNT,
    RULE_MANUAL,
    RULE_OLDEST_FIRST,
    RULE_REFERENCE,
    PaymentInput,
    payment_allocate,
    payment_record,
    payments_list,
)
from tests.acting_users import make_user
from tests.factories import make_contract
from tests.receivables.conftest import TODAY, Receivables

pytestmark = pytest.mark.django_db

D = Decimal


def allocated(result) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    return {a.invoice.number: a.amount for a in result.allocations}


def test_reference_number_matches_first(receivables: Receivables):
    # 1190.00 is also the exact open amount of all three invoices, so only the reference
    # can pick the October one.
    result = receivables.pay("1190.00", dt.date(2026, 11, 2), "Payment ade-000002 thanks")

    assert result.rule == RULE_REFERENCE
    assert allocated(result) == {"ADE-000002": D("1190.00")}
    assert result.unapplied == 0


def test_reference_with_two_numbers_in_order(receivables: Receivables):
    result = receivables.pay("1500.00", dt.date(2026, 11, 2), "ADE-000003, ADE-000001")

    assert result.rule == RULE_REFERENCE
    assert allocated(result) == {"ADE-000003": D("1190.00"), "ADE-000001": D("310.00")}


def test_reference_overpayment_stays_unapplied(receivables: Receivables):
    result = receivables.pay("1200.00", dt.date(2026, 11, 2), "ADE-000001")

    assert allocated(result) == {"ADE-000001": D("1190.00")}
    assert result.unapplied == D("10.00")
    assert [row.unapplied for row in payments_list(unapplied_only=True)] == [D("10.00")]


def test_number_inside_longer_word_is_ignored(receivables: Receivables):
    result = receivables.pay("50.00", dt.date(2026, 11, 2), "XADE-0000012")

    assert result.rule == ""
    assert result.allocations == []
    assert result.unapplied == D("50.00")


def test_exact_open_amount_of_one_invoice(receivables: Receivables):
    receivables.pay("1190.00", dt.date(2026, 10, 5), "ADE-000001")
    receivables.pay("1000.00", dt.date(2026, 11, 5), "ADE-000002")

    # Open now: ADE-000002 190.00 and ADE-000003 1190.00.
    result = receivables.pay("190.00", dt.date(2026, 11, 6), "remittance 77")

    assert result.rule == RULE_EXACT_AMOUNT
    assert allocated(result) == {"ADE-000002": D("190.00")}


def test_exact_amount_of_two_invoices_is_not_matched(receivables: Receivables):
    result = receivables.pay("1190.00", dt.date(2026, 11, 6), "remittance 77")

    assert result.rule == ""
    assert result.unapplied == D("1190.00")


def test_oldest_first_only_when_asked(receivables: Receivables):
    result = receivables.pay("2000.00", dt.date(2026, 11, 6), apply_oldest=True)

    assert result.rule == RULE_OLDEST_FIRST
    assert allocated(result) == {"ADE-000001": D("1190.00"), "ADE-000002": D("810.00")}
    assert result.unapplied == 0


def test_oldest_first_leaves_remainder(receivables: Receivables):
    result = receivables.pay("4000.00", dt.date(2026, 11, 6), apply_oldest=True)

    assert sum(allocated(result).values()) == D("3570.00")
    assert result.unapplied == D("430.00")


def test_other_customer_invoice_is_not_matched(receivables: Receivables):
    other = make_contract("C-2", customer_code="CUST-2")

    result = payment_record(
        data=PaymentInput(
            customer=other.party,
            received_on=dt.date(2026, 11, 2),
            currency="EUR",
            amount=D("1190.00"),
            reference="ADE-000001",
        ),
        by=receivables.finance,
        today=TODAY,
        apply_oldest=True,
    )

    assert result.allocations == []


def test_other_currency_is_not_matched(receivables: Receivables):
    result = payment_record(
        data=PaymentInput(
            customer=receivables.customer,
            received_on=dt.date(2026, 11, 2),
            currency="USD",
            amount=D("1190.00"),
            reference="ADE-000001",
        ),
        by=receivables.finance,
        today=TODAY,
    )

    assert result.allocations == []


def test_record_leaves_audit_entry(receivables: Receivables):
    result = receivables.pay("1190.00", dt.date(2026, 11, 2), "ADE-000002")

    entry = AuditEntry.objects.filter(action="payment.record").get()
    assert entry.actor == "fran"
    assert entry.record_id == str(result.payment.pk)


@pytest.mark.parametrize(
    ("field", "value", "place"),
    [
        ("amount", D("-5"), "--amount"),
        ("amount", D("10.001"), "--amount"),
        ("currency", "EURO", "--currency"),
        ("received_on", dt.date(2027, 1, 1), "--received-on"),
        ("method", "barter", "--method"),
    ],
)
def test_bad_payment_is_rejected(receivables: Receivables, field, value, place):
    values = {
        "customer": receivables.customer,
        "received_on": dt.date(2026, 11, 2),
        "currency": "EUR",
        "amount": D("10.00"),
        field: value,
    }

    with pytest.raises(InvalidInput) as error:
        payment_record(data=PaymentInput(**values), by=receivables.finance, today=TODAY)  # type: ignore[arg-type]

    assert error.value.place == place
    assert PaymentAllocation.objects.count() == 0


def test_external_id_is_unique_per_source(receivables: Receivables):
    data = PaymentInput(
        customer=receivables.customer,
        received_on=dt.date(2026, 11, 2),
        currency="EUR",
        amount=D("10.00"),
        source="bank",
        external_id="TX-1",
    )
    payment_record(data=data, by=receivables.finance, today=TODAY)

    with pytest.raises(RuleViolation):
        payment_record(data=data, by=receivables.finance, today=TODAY)


def test_sales_may_not_record_payment(receivables: Receivables):
    sales = make_user("sam", "sales")

    with pytest.raises(NotAllowed):
        payment_record(
            data=PaymentInput(
                customer=receivables.customer,
                received_on=dt.date(2026, 11, 2),
                currency="EUR",
                amount=D("10.00"),
            ),
            by=sales,
            today=TODAY,
        )


def test_allocate_by_hand_and_move(receivables: Receivables):
    payment = receivables.pay("1000.00", dt.date(2026, 11, 2), "no number").payment

    payment_allocate(
        payment=payment, invoice=receivables.september, amount=D("600.00"), by=receivables.finance
    )
    payment_allocate(
        payment=payment, invoice=receivables.october, amount=D("400.00"), by=receivables.finance
    )
    payment_allocate(
        payment=payment, invoice=receivables.september, amount=D("100.00"), by=receivables.finance
    )

    shares = {a.invoice.number: a.amount for a in payment.allocations.all()}
    assert shares == {"ADE-000001": D("100.00"), "ADE-000002": D("400.00")}
    assert {a.rule for a in payment.allocations.all()} == {RULE_MANUAL}
    assert AuditEntry.objects.filter(action="payment.allocate").count() == 3


def test_allocate_beyond_payment_is_rejected(receivables: Receivables):
    payment = receivables.pay("1000.00", dt.date(2026, 11, 2), "no number").payment
    payment_allocate(
        payment=payment, invoice=receivables.september, amount=D("600.00"), by=receivables.finance
    )

    with pytest.raises(RuleViolation) as error:
        payment_allocate(
            payment=payment,
            invoice=receivables.october,
            amount=D("500.00"),
            by=receivables.finance,
        )

    assert "400.00 EUR left" in str(error.value)


def test_allocate_beyond_open_amount_is_rejected(receivables: Receivables):
    receivables.pay("1000.00", dt.date(2026, 11, 2), "ADE-000001")
    payment = receivables.pay("500.00", dt.date(2026, 11, 3), "no number").payment

    with pytest.raises(RuleViolation) as error:
        payment_allocate(
            payment=payment,
            invoice=receivables.september,
            amount=D("200.00"),
            by=receivables.finance,
        )

    assert "190.00 EUR open" in str(error.value)


def test_allocate_zero_removes_share(receivables: Receivables):
    payment = receivables.pay("1190.00", dt.date(2026, 11, 2), "ADE-000001").payment

    removed = payment_allocate(
        payment=payment, invoice=receivables.september, amount=D("0"), by=receivables.finance
    )

    assert removed is None
    assert not payment.allocations.exists()


def test_payment_statuses(receivables: Receivables):
    receivables.pay("1190.00", dt.date(2026, 9, 20), "ADE-000001")
    receivables.pay("500.00", dt.date(2026, 10, 20), "ADE-000002")
    credit_note_issue(
        invoice=receivables.november, reason="Not delivered", issue_date=dt.date(2026, 11, 10)
    )
    as_of = dt.date(2026, 10, 25)

    assert balance_of(receivables.september, as_of).status == PAID
    assert balance_of(receivables.october, as_of).status == PARTIALLY_PAID
    assert balance_of(receivables.october, dt.date(2026, 11, 1)).status == OVERDUE
    assert balance_of(receivables.october, dt.date(2026, 11, 1)).open_amount == D("690.00")
    assert balance_of(receivables.november, dt.date(2026, 11, 5)).status == OPEN
    assert balance_of(receivables.november, dt.date(2026, 11, 10)).status == CREDITED
    # Before the payment arrived, the September invoice was open and not yet due.
    assert balance_of(receivables.september, dt.date(2026, 9, 15)).status == OPEN
