"""What each applier changes: contract terms, amendments, bill-to entities, schedules, vendors."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billguard.controls.models import AuditEntry, ChangeRequest
from billguard.controls.requests import (
    change_request_approve,
    change_request_create,
    change_requests_apply_due,
)
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound, RuleViolation
from billguard.registry.models import (
    Amendment,
    BillingScheduleLine,
    BillToEntity,
    ContractVersion,
    VendorBankAccount,
)
from billguard.registry.services.amendments import (
    amendment_approve,
    amendment_draft,
    amendment_request_approval,
    amendment_sign,
)
from billguard.registry.services.documents import document_store
from billguard.registry.services.parties import party_create
from tests.acting_users import make_user
from tests.factories import make_contract

pytestmark = pytest.mark.django_db

D = Decimal


def request_and_approve(target, target_id, changes, *, requester="finance", **options):
    request = change_request_create(
        by=make_user("ann", requester),
        target=target,
        target_id=target_id,
        changes=changes,
        reason="agreed with the customer",
        **options,
    )
    return change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))


def latest_version(contract):
    return (
        ContractVersion.objects.filter(contract=contract)
        .prefetch_related("lines", "discounts")
        .latest("version_number")
    )


def signed_amendment(contract, changes, effective_from):
    amendment = amendment_draft(
        contract=contract, number="A-1", effective_from=effective_from, changes=changes
    )
    document = document_store(
        content=b"Amendment A-1, signed.",
        kind="amendment",
        family=f"AMD-{contract.number}-A-1",
        title="Amendment A-1",
        signed_on=effective_from - dt.timedelta(days=10),
        signer="Jane Buyer",
    )
    return amendment_sign(
        amendment=amendment, document=document, signed_on=effective_from - dt.timedelta(days=10)
    )


def test_contract_line_removed_and_added():
    setup = make_contract()

    request_and_approve(
        "contract",
        setup.contract.pk,
        {
            "lines": {
                "L1": None,
                "L2": {
                    "kind": "recurring_fixed",
                    "description": "Support",
                    "unit_price": "250.00",
                    "quantity": "2",
                    "gl_account": "4100",
                },
            }
        },
    )

    lines = {line.line_code: line for line in latest_version(setup.contract).lines.all()}
    assert set(lines) == {"L2"}
    assert lines["L2"].unit_price == D("250.00")


def test_contract_removing_unknown_line_rejected():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_and_approve("contract", setup.contract.pk, {"lines": {"L7": None}})

    assert raised.value.place == "changes.lines.L7"


def test_contract_discounts_replaced():
    setup = make_contract()

    request = request_and_approve(
        "contract", setup.contract.pk, {"discounts": [{"percent": "5", "line_code": "L1"}]}
    )

    assert request.categories == ["discount"]
    discounts = list(latest_version(setup.contract).discounts.all())
    assert [(d.line_code, d.percent) for d in discounts] == [("L1", D("5"))]


def test_contract_discount_approved_by_request_carries_its_reference():
    setup = make_contract()

    request = request_and_approve(
        "contract",
        setup.contract.pk,
        {
            "discounts": [
                {"percent": "5", "line_code": "L1"},
                {"percent": "3", "line_code": "L2", "approval_reference": "DEAL-42"},
            ]
        },
    )

    discounts = {d.line_code: d for d in latest_version(setup.contract).discounts.all()}
    assert discounts["L1"].approval_reference == f"change request {request.pk}"
    assert discounts["L2"].approval_reference == "DEAL-42"


def test_contract_discount_over_hundred_rejected():
    setup = make_contract()

    with pytest.raises(InvalidInput):
        request_and_approve(
            "contract", setup.contract.pk, {"discounts": [{"percent": "120", "line_code": "L1"}]}
        )


def test_contract_bill_to_of_other_party_rejected():
    setup = make_contract()
    other = make_contract("C-2", customer_code="CUST-2")

    with pytest.raises(InvalidInput) as raised:
        request_and_approve("contract", setup.contract.pk, {"bill_to_id": other.bill_to.pk})

    assert raised.value.place == "changes.bill_to_id"


def test_contract_unknown_id_not_found():
    make_contract()

    with pytest.raises(NotFound) as raised:
        request_and_approve("contract", 999999, {"payment_terms_days": 45})

    assert raised.value.place == "target_id"


def test_amendment_approval_through_request():
    setup = make_contract()
    start = timezone.localdate() - dt.timedelta(days=3)
    amendment = signed_amendment(
        setup.contract, {"lines": {"L1": {"unit_price": "1200.00"}}}, start
    )

    request = amendment_request_approval(
        amendment=amendment, by=make_user("ann", "sales"), reason="signed by the customer"
    )
    assert request.amendment_id == amendment.pk
    assert request.effective_from == start
    applied = change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))

    assert applied.status == ChangeRequest.Status.APPLIED
    amendment.refresh_from_db()
    assert amendment.status == Amendment.Status.APPROVED
    assert amendment.approved_by == "bob"
    version = latest_version(setup.contract)
    assert version.amendment_id == amendment.pk
    assert version.change_request_id == request.pk
    assert version.effective_from == start
    assert version.lines.get().unit_price == D("1200.00")


def test_amendment_with_future_date_applied_when_due():
    setup = make_contract()
    start = timezone.localdate() + dt.timedelta(days=20)
    amendment = signed_amendment(setup.contract, {"payment_terms_days": 60}, start)
    request = amendment_request_approval(
        amendment=amendment, by=make_user("ann", "sales"), reason="signed"
    )
    change_request_approve(request_id=request.pk, by=make_user("bob", "finance_approver"))
    amendment.refresh_from_db()
    assert amendment.status == Amendment.Status.SIGNED

    assert change_requests_apply_due(today=start) == 1

    amendment.refresh_from_db()
    assert amendment.status == Amendment.Status.APPROVED
    assert latest_version(setup.contract).payment_terms_days == 60


def test_amendment_must_be_signed_for_approval():
    setup = make_contract()
    amendment = amendment_draft(
        contract=setup.contract,
        number="A-1",
        effective_from=timezone.localdate(),
        changes={"payment_terms_days": 60},
    )

    with pytest.raises(RuleViolation):
        amendment_request_approval(amendment=amendment, by=make_user("ann", "sales"), reason="x")


def test_amendment_only_one_open_request():
    setup = make_contract()
    amendment = signed_amendment(setup.contract, {"payment_terms_days": 60}, timezone.localdate())
    ann = make_user("ann", "sales")
    amendment_request_approval(amendment=amendment, by=ann, reason="signed")

    with pytest.raises(RuleViolation) as raised:
        amendment_request_approval(amendment=amendment, by=ann, reason="again")

    assert "already waits for approval" in raised.value.message


def test_amendment_with_unreadable_changes_not_sent():
    setup = make_contract()
    amendment = signed_amendment(
        setup.contract, {"minimum_commitment": "one thousand"}, timezone.localdate()
    )

    with pytest.raises(InvalidInput) as raised:
        amendment_request_approval(amendment=amendment, by=make_user("ann", "sales"), reason="x")

    assert raised.value.place == "changes.minimum_commitment"


def test_amendment_approve_still_serves_trusted_callers():
    setup = make_contract()
    amendment = signed_amendment(setup.contract, {"payment_terms_days": 60}, dt.date(2026, 9, 1))

    version = amendment_approve(
        amendment=amendment, approved_by="controller", approved_on=dt.date(2026, 8, 25)
    )

    assert version.payment_terms_days == 60
    assert version.change_request_id is None


def test_bill_to_address_and_tax_id_changed():
    setup = make_contract()

    request_and_approve(
        "bill_to",
        setup.bill_to.pk,
        {"street": "Leopoldstrasse 1", "tax_id": "DE136695976"},
    )

    bill_to = BillToEntity.objects.get(pk=setup.bill_to.pk)
    assert bill_to.street == "Leopoldstrasse 1"
    assert bill_to.tax_id == "DE136695976"
    assert bill_to.tax_id_valid is True
    assert AuditEntry.objects.filter(action="bill_to.change").count() == 1


def test_bill_to_categories():
    setup = make_contract()

    request = change_request_create(
        by=make_user("ann", "finance"),
        target="bill_to",
        target_id=setup.bill_to.pk,
        changes={"city": "Augsburg", "tax_id": "DE136695976", "contact_name": "AP team"},
        reason="moved",
    )

    assert request.categories == ["bill_to", "tax_id"]
    assert request.before == {"city": "Munich", "tax_id": "DE123456788", "contact_name": ""}


def test_bill_to_invalid_tax_id_rejected():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_and_approve("bill_to", setup.bill_to.pk, {"tax_id": "DE123"})

    assert raised.value.place == "changes.tax_id"


def test_bill_to_country_change_checks_tax_id_again():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_and_approve("bill_to", setup.bill_to.pk, {"country": "FR"})

    assert raised.value.place == "changes.tax_id"


def test_bill_to_unknown_field_rejected():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_and_approve("bill_to", setup.bill_to.pk, {"code": "NEW"})

    assert raised.value.place == "changes.code"


def test_schedule_price_change_splits_line():
    setup = make_contract()
    schedule = setup.contract.schedule
    start = timezone.localdate() + dt.timedelta(days=10)

    request = request_and_approve(
        "schedule",
        schedule.pk,
        {"lines": {"L1": {"unit_price": "1100.00"}}},
        effective_from=start,
    )
    assert request.status == ChangeRequest.Status.APPROVED
    change_requests_apply_due(today=start)

    lines = list(BillingScheduleLine.objects.filter(schedule=schedule).order_by("effective_from"))
    assert [(line.unit_price, line.effective_from, line.effective_to) for line in lines] == [
        (D("1000.00"), dt.date(2026, 1, 1), start),
        (D("1100.00"), start, None),
    ]
    assert lines[1].gl_account == "4000"
    assert ChangeRequest.objects.get(pk=request.pk).categories == ["price"]


def test_schedule_line_ended():
    setup = make_contract()
    schedule = setup.contract.schedule
    start = timezone.localdate() + dt.timedelta(days=10)

    request_and_approve("schedule", schedule.pk, {"lines": {"L1": None}}, effective_from=start)
    change_requests_apply_due(today=start)

    line = BillingScheduleLine.objects.get(schedule=schedule)
    assert line.effective_to == start


def test_schedule_fields_changed():
    setup = make_contract()
    schedule = setup.contract.schedule

    request_and_approve("schedule", schedule.pk, {"billing_day": 15, "cadence": "quarterly"})

    schedule.refresh_from_db()
    assert schedule.billing_day == 15
    assert schedule.cadence == "quarterly"


def test_schedule_discount_over_hundred_rejected():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_and_approve(
            "schedule",
            setup.contract.schedule.pk,
            {"lines": {"L1": {"discount_percent": "150"}}},
        )

    assert raised.value.place == "changes.lines.L1.discount_percent"


def test_schedule_new_line_needs_price():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_and_approve(
            "schedule",
            setup.contract.schedule.pk,
            {"lines": {"L2": {"kind": "recurring_fixed", "description": "Support"}}},
        )

    assert raised.value.place == "changes.lines.L2"


def test_schedule_unknown_cadence_rejected():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_and_approve("schedule", setup.contract.schedule.pk, {"cadence": "weekly"})

    assert raised.value.place == "changes.cadence"


def make_vendor():
    return party_create(code="VEND-1", kind="vendor", name="Parts Supply AG", country="DE")


def test_vendor_bank_details_changed():
    vendor = make_vendor()
    VendorBankAccount.objects.create(party=vendor, iban="DE89370400440532013000")

    request = request_and_approve(
        "vendor",
        vendor.pk,
        {"iban": "GB82 WEST 1234 5698 7654 32", "account_name": "Parts Supply AG"},
        requester="procurement",
    )

    assert request.categories == ["vendor_bank_details"]
    assert request.before == {"iban": "DE89370400440532013000", "account_name": ""}
    account = VendorBankAccount.objects.get(party=vendor)
    assert account.iban == "GB82WEST12345698765432"
    assert account.account_name == "Parts Supply AG"


def test_vendor_first_account_created():
    vendor = make_vendor()

    request_and_approve(
        "vendor", vendor.pk, {"iban": "DE89370400440532013000"}, requester="procurement"
    )

    assert VendorBankAccount.objects.get(party=vendor).is_primary


def test_vendor_invalid_iban_rejected():
    vendor = make_vendor()

    with pytest.raises(InvalidInput) as raised:
        request_and_approve(
            "vendor", vendor.pk, {"iban": "DE89370400440532013001"}, requester="procurement"
        )

    assert raised.value.place == "changes.iban"


def test_vendor_customer_party_rejected():
    setup = make_contract()

    with pytest.raises(InvalidInput) as raised:
        request_and_approve(
            "vendor", setup.party.pk, {"iban": "DE89370400440532013000"}, requester="procurement"
        )

    assert raised.value.place == "target_id"


def test_vendor_bank_details_outside_sales_role():
    vendor = make_vendor()

    with pytest.raises(NotAllowed):
        change_request_create(
            by=make_user("sam", "sales"),
            target="vendor",
            target_id=vendor.pk,
            changes={"iban": "DE89370400440532013000"},
            reason="new bank",
        )
