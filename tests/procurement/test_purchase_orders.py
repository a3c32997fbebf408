"""Creating, approving, re-checking and closing purchase orders."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from billguard.controls.models import AuditEntry, CheckMode, PolicySetting
from billguard.domain.errors import InvalidInput, NotAllowed, RuleViolation
from billguard.procurement.context import purchase_order_context
from billguard.procurement.models import (
    OnboardingItem,
    ProcurementFinding,
    PurchaseOrder,
    PurchaseOrderLine,
)
from billguard.procurement.purchase_orders import (
    purchase_order_approve,
    purchase_order_close,
    purchase_order_create,
    purchase_order_recheck,
)
from billguard.registry.models import Party, VendorBankAccount
from billguard.registry.services.parties import party_create
from tests.acting_users import make_user
from tests.factories import make_seller
from tests.procurement.ordering import (
    ORDERED_ON,
    hosting_line,
    make_cost_accounts,
    make_order,
    make_vendor,
)

pytestmark = pytest.mark.django_db

D = Decimal


def create(**overrides: object) -> PurchaseOrder:
    make_cost_accounts()
    arguments: dict[str, object] = {
        "number": "PO-0001",
        "vendor": Party.objects.filter(code="V-1").first() or make_vendor(),
        "seller_entity": make_seller(),
        "currency": "EUR",
        "ordered_on": ORDERED_ON,
        "lines": [hosting_line()],
    }
    arguments.update(overrides)
    return purchase_order_create(**arguments)  # type: ignore[arg-type]


# Create ------------------------------------------------------------------------------------


def test_create_stores_draft_with_lines_and_audit_entry():
    buyer = make_user("pat.procurement", "procurement")

    order = create(
        lines=[
            hosting_line(expected_on=dt.date(2026, 10, 31)),
            hosting_line(description="Backup storage", quantity="2"),
        ],
        by=buyer,
    )

    assert order.status == PurchaseOrder.Status.DRAFT
    assert order.revision == 1
    assert order.created_by == "pat.procurement"
    lines = list(order.lines.order_by("line_number"))
    assert [(line.line_number, line.description, line.quantity) for line in lines] == [
        (1, "Hosting capacity, October", D(10)),
        (2, "Backup storage", D(2)),
    ]
    assert lines[0].category == "hosting"
    assert lines[0].expected_on == dt.date(2026, 10, 31)
    entry = AuditEntry.objects.get(action="purchase_order.create")
    assert entry.actor == "pat.procurement"
    assert entry.record_id == str(order.pk)


def test_create_refuses_a_customer_as_vendor():
    customer = party_create(code="CUST-1", kind="customer", name="Northwind", country="DE")

    with pytest.raises(RuleViolation, match="not a vendor"):
        create(vendor=customer)

    assert not PurchaseOrder.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "place"),
    [
        ({"currency": "EURO"}, "currency"),
        ({"number": "  "}, "number"),
        ({"lines": []}, "lines"),
        ({"lines": [hosting_line(quantity="0")]}, "line 1 quantity"),
        ({"lines": [hosting_line(unit_price="-5")]}, "line 1 unit_price"),
        ({"lines": [hosting_line(quantity="1.00001")]}, "line 1 quantity"),
        ({"lines": [hosting_line(kind="licence")]}, "line 1 kind"),
        ({"lines": [hosting_line(description=" ")]}, "line 1 description"),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(overrides, place):
    with pytest.raises(InvalidInput) as refused:
        create(**overrides)

    assert refused.value.place == place
    assert not PurchaseOrder.objects.exists()
    assert not PurchaseOrderLine.objects.exists()


def test_create_refuses_unknown_or_closed_gl_account():
    make_cost_accounts()
    from billguard.registry.models import GLAccount

    GLAccount.objects.create(code="4900", name="Legacy", kind="other", is_closed=True)
    unknown = dataclasses.replace(hosting_line(), gl_account="9999")
    closed = dataclasses.replace(hosting_line(), gl_account="4900")

    for line in (unknown, closed):
        with pytest.raises(InvalidInput) as refused:
            create(lines=[hosting_line(), line])
        assert refused.value.place == "line 2 gl_account"
    assert not PurchaseOrder.objects.exists()


def test_create_refuses_expected_date_before_order_date():
    early = hosting_line(expected_on=dt.date(2026, 9, 30))

    with pytest.raises(InvalidInput, match="before the order date"):
        create(lines=[early])


def test_create_refuses_a_used_order_number():
    create()

    with pytest.raises(RuleViolation, match="already exists"):
        create(lines=[hosting_line(quantity="3")])

    assert PurchaseOrderLine.objects.count() == 1


def test_create_needs_purchase_order_manage():
    sales = make_user("sam.sales", "sales")

    with pytest.raises(NotAllowed):
        create(by=sales)

    assert not PurchaseOrder.objects.exists()


# Approve and recheck -----------------------------------------------------------------------


def test_approve_clean_order_approves_it():
    order = make_order()

    findings = purchase_order_approve(order=order)

    order.refresh_from_db()
    assert findings == []
    assert order.status == PurchaseOrder.Status.APPROVED
    assert not ProcurementFinding.objects.exists()
    assert AuditEntry.objects.filter(action="purchase_order.approve").count() == 1


def test_approve_ignores_draft_duplicate():
    make_order("PO-0002")
    first = make_order("PO-0001")

    assert purchase_order_approve(order=first) == []


def test_approve_duplicate_holds_it_with_stored_findings():
    purchase_order_approve(order=make_order("PO-0001"))
    second = make_order("PO-0002", ordered_on=dt.date(2026, 11, 15))

    findings = purchase_order_approve(order=second)

    second.refresh_from_db()
    assert second.status == PurchaseOrder.Status.HELD
    assert [finding.code for finding in findings] == ["PO_DUPLICATE_SUSPECTED"]
    stored = ProcurementFinding.objects.get(purchase_order=second)
    assert stored.code == "PO_DUPLICATE_SUSPECTED"
    assert stored.severity == "block"
    assert stored.evidence["duplicate_of"] == "PO-0001"
    assert stored.message.endswith("same 1 line(s) and total 1200.00 EUR.")
    assert stored.amount_at_stake == D("1200.000")
    assert stored.currency == "EUR"


def test_approve_rejects_non_draft():
    order = make_order()
    purchase_order_approve(order=order)

    with pytest.raises(RuleViolation, match="not a draft"):
        purchase_order_approve(order=order)


def test_recheck_approves_after_fix():
    first = make_order("PO-0001")
    purchase_order_approve(order=first)
    second = make_order("PO-0002")
    purchase_order_approve(order=second)
    purchase_order_close(order=first)

    findings = purchase_order_recheck(order=second)

    second.refresh_from_db()
    # A closed order is still another order with the same lines: the duplicate stays.
    assert [finding.code for finding in findings] == ["PO_DUPLICATE_SUSPECTED"]
    assert second.status == PurchaseOrder.Status.HELD

    first.lines.update(quantity=D(11))
    findings = purchase_order_recheck(order=second)

    second.refresh_from_db()
    assert findings == []
    assert second.status == PurchaseOrder.Status.APPROVED
    assert not ProcurementFinding.objects.filter(purchase_order=second).exists()


def test_recheck_refuses_an_order_that_is_not_held():
    order = make_order()

    with pytest.raises(RuleViolation, match="not held"):
        purchase_order_recheck(order=order)


# Context and close -------------------------------------------------------------------------


def test_context_loads_onboarding_and_window():
    vendor = make_vendor()
    near = make_order("PO-0001", vendor=vendor, ordered_on=dt.date(2026, 8, 1))
    far = make_order("PO-0002", vendor=vendor, ordered_on=dt.date(2026, 6, 1))
    other_vendor = make_order("PO-0003", vendor=make_vendor("V-2"), ordered_on=ORDERED_ON)
    for approved in (near, far, other_vendor):
        purchase_order_approve(order=approved)
    make_order("PO-0005", vendor=vendor, ordered_on=dt.date(2026, 9, 1))  # a draft
    order = make_order("PO-0004", vendor=vendor)

    context = purchase_order_context(order)

    assert context.onboarding.complete
    assert context.window_days == 90
    assert [other.number for other, _ in context.nearby_orders] == [near.number]
    assert [line.line_number for line in context.lines] == [1]


def test_context_reports_missing_and_expired_onboarding_items():
    vendor = make_vendor()
    VendorBankAccount.objects.filter(party=vendor).delete()
    OnboardingItem.objects.filter(vendor=vendor, requirement="insurance_certificate").update(
        expires_on=dt.date(2026, 9, 30)
    )

    status = purchase_order_context(make_order(vendor=vendor)).onboarding

    assert not status.complete
    assert status.missing == ("bank details",)
    assert status.expired == (("insurance certificate", dt.date(2026, 9, 30)),)


def test_close_closes_and_refuses_twice():
    order = make_order()

    purchase_order_close(order=order)

    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.CLOSED
    with pytest.raises(RuleViolation, match="closed already"):
        purchase_order_close(order=order)


def test_duplicate_window_follows_policy():
    PolicySetting.objects.create(key="procurement_duplicate_window_days", value=30)
    purchase_order_approve(order=make_order("PO-0001"))
    later = make_order("PO-0002", ordered_on=ORDERED_ON + dt.timedelta(days=31))
    sooner = make_order("PO-0003", ordered_on=ORDERED_ON - dt.timedelta(days=30))

    assert purchase_order_approve(order=later) == []
    assert [f.code for f in purchase_order_approve(order=sooner)] == ["PO_DUPLICATE_SUSPECTED"]


def test_observed_duplicate_does_not_hold():
    CheckMode.objects.create(check_code="PO_DUPLICATE_SUSPECTED", mode="observe")
    purchase_order_approve(order=make_order("PO-0001"))
    second = make_order("PO-0002")

    findings = purchase_order_approve(order=second)

    second.refresh_from_db()
    assert second.status == PurchaseOrder.Status.APPROVED
    assert [f.observed for f in findings] == [True]
    assert ProcurementFinding.objects.get(purchase_order=second).observed
