"""The changes that seed the faults into clean records, after the invoice history exists.

Each function breaks the source data of its carrier contracts through the same models that
the registry and billing use: a schedule line, a bill-to entity, a stored document, a usage
record, an invoice issued by the legacy system. Drafts are never edited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.contrib.auth.models import User

from billguard.billing.drafting import DraftPlan, draft_contract
from billguard.billing.invoices import CheckedPlan, invoices_issue, invoices_save_drafts
from billguard.billing.selectors import load_draft_sources
from billguard.controls.emergency import change_emergency_apply
from billguard.controls.models.policy import Target
from billguard.domain.periods import parse_period
from billguard.registry.models import (
    BillingSchedule,
    BillingScheduleLine,
    BillToEntity,
    Contract,
    ContractVersion,
    Document,
    MilestoneAcceptance,
    Party,
    UsageRecord,
)
from billguard.registry.services.amendments import amendment_draft, amendment_sign
from billguard.registry.services.documents import document_store
from billguard.registry.tax_ids import validate_tax_id
from billguard.sample.calendar import RUN_MONTH
from billguard.sample.pdf import text_pdf
from billguard.sample.plans import ContractPlan
from billguard.sample.tax_ids import invalid_variant

D = Decimal
FaultChange = Callable[[list[ContractPlan]], None]
RUN_PERIOD = parse_period(f"{RUN_MONTH:%Y-%m}")
# The sample user who applies the unreviewed emergency change, and the terms it sets. The
# planner never gives a contract 90 days, so the change always changes something.
EMERGENCY_CHANGE_USER = "ada.admin"
EMERGENCY_PAYMENT_TERMS_DAYS = 90


# Contract completeness


def sign_newer_sow(plans: list[ContractPlan]) -> None:
    """Store SOW revision 2, signed in October, with no amendment that points the contract at it."""
    version = _first_version(plans[0])
    assert version.sow_document is not None
    family = version.sow_document.family
    document_store(
        content=text_pdf(f"Statement of work {family}, revision 2: reduced scope, new rates."),
        kind=Document.Kind.SOW,
        family=family,
        title=f"SOW {family} revision 2",
        file_name=f"{family}-rev2.pdf",
        signed_on=dt.date(2026, 10, 12),
        signer=plans[0].bill_to.contact_name,
    )


def start_schedule_early(plans: list[ContractPlan]) -> None:
    """Start the schedule on 1 November although the contract takes effect on the 10th."""
    first_day = dt.date(2026, 11, 1)
    BillingSchedule.objects.filter(contract__number=plans[0].number).update(starts_on=first_day)
    BillingScheduleLine.objects.filter(schedule__contract__number=plans[0].number).update(
        effective_from=first_day
    )


# Parties


def copy_first_customer(plans: list[ContractPlan]) -> None:
    """Turn the second customer into the first one entered again, in capitals, same address."""
    first = Party.objects.get(code=plans[0].customer.code)
    second = Party.objects.get(code=plans[1].customer.code)
    second.name = first.name.upper()
    second.postcode = first.postcode
    second.tax_id = first.tax_id
    second.save(update_fields=["name", "postcode", "tax_id"])
    first_bill_to = BillToEntity.objects.get(code=plans[0].bill_to.code)
    BillToEntity.objects.filter(code=plans[1].bill_to.code).update(
        name=second.name,
        street=first_bill_to.street,
        city=first_bill_to.city,
        postcode=first_bill_to.postcode,
        tax_id=first_bill_to.tax_id,
    )


def break_tax_id_check_digit(plans: list[ContractPlan]) -> None:
    bill_to = BillToEntity.objects.get(code=plans[0].bill_to.code)
    wrong = invalid_variant(bill_to.tax_id, bill_to.country)
    check = validate_tax_id(wrong, bill_to.country)
    bill_to.tax_id = wrong
    bill_to.tax_id_valid = check.valid
    bill_to.tax_id_error = check.error[:200]
    bill_to.save(update_fields=["tax_id", "tax_id_valid", "tax_id_error"])


def clear_tax_id(plans: list[ContractPlan]) -> None:
    BillToEntity.objects.filter(code=plans[0].bill_to.code).update(
        tax_id="", tax_id_valid=None, tax_id_error=""
    )


def move_schedule_to_other_bill_to(plans: list[ContractPlan]) -> None:
    other = BillToEntity.objects.get(code=plans[0].customer.bill_tos[1].code)
    BillingSchedule.objects.filter(contract__number=plans[0].number).update(bill_to=other)


def clear_schedule_bill_to(plans: list[ContractPlan]) -> None:
    BillingSchedule.objects.filter(contract__number=plans[0].number).update(bill_to=None)


def archive_bill_to(plans: list[ContractPlan]) -> None:
    BillToEntity.objects.filter(code=plans[0].bill_to.code).update(
        archived_at=dt.datetime(2026, 10, 15, 9, 0, tzinfo=dt.UTC)
    )


# Pricing


def sign_pending_amendment(plans: list[ContractPlan]) -> None:
    """Sign an 8 % higher platform fee from November on 22 October, and leave it unapproved."""
    plan = plans[0]
    contract = Contract.objects.get(number=plan.number)
    platform = _first_version(plan).lines.get(line_code="PLATFORM")
    assert platform.unit_price is not None
    new_price = (platform.unit_price * D("1.08")).quantize(D("0.01"))
    amendment = amendment_draft(
        contract=contract,
        number="A1",
        effective_from=dt.date(2026, 11, 1),
        changes={"lines": {"PLATFORM": {"unit_price": str(new_price)}}},
        description="Platform fee 2027 price list",
    )
    document = document_store(
        content=text_pdf(f"Amendment A1 to contract {plan.number}: platform fee {new_price}."),
        kind=Document.Kind.AMENDMENT,
        family=f"{plan.number}-A1",
        title=f"Amendment A1 to {plan.number}",
        file_name=f"{plan.number}-A1.pdf",
        signed_on=dt.date(2026, 10, 22),
        signer=plan.bill_to.contact_name,
    )
    amendment_sign(amendment=amendment, document=document, signed_on=dt.date(2026, 10, 22))


def lower_schedule_price(plans: list[ContractPlan]) -> None:
    """Lower the schedule's platform fee 5 % below the signed price, as the legacy import did."""
    for line in _schedule_lines(plans[0], "PLATFORM"):
        line.unit_price = (line.unit_price * D("0.95")).quantize(D("0.01"))
        line.save(update_fields=["unit_price"])


def lower_schedule_quantity(plans: list[ContractPlan]) -> None:
    for line in _schedule_lines(plans[0], "SEATS"):
        assert line.quantity is not None
        line.quantity = max(line.quantity - 5, D(1))
        line.save(update_fields=["quantity"])


def raise_schedule_discount(plans: list[ContractPlan]) -> None:
    """Give ten points more discount on seats than the approved discount."""
    for line in _schedule_lines(plans[0], "SEATS"):
        line.discount_percent = (line.discount_percent or D(0)) + 10
        line.save(update_fields=["discount_percent"])


def cut_october_usage(plans: list[ContractPlan]) -> None:
    """Cut October's usage records to one unit each, far below the minimum commitment."""
    UsageRecord.objects.filter(
        contract__number=plans[0].number,
        service_date__gte=dt.date(2026, 10, 1),
        service_date__lt=dt.date(2026, 11, 1),
    ).update(quantity=D(1))


def keep_schedule_running(plans: list[ContractPlan]) -> None:
    BillingSchedule.objects.filter(contract__number=plans[0].number).update(ends_on=None)


def drop_milestone_acceptance(plans: list[ContractPlan]) -> None:
    MilestoneAcceptance.objects.filter(contract__number=plans[0].number, line_code="M2").delete()


def reschedule_billed_milestone(plans: list[ContractPlan]) -> None:
    """Put milestone M1, billed in September, on the schedule again for November."""
    for line in _schedule_lines(plans[0], "M1"):
        line.bill_on = dt.date(2026, 11, 10)
        line.save(update_fields=["bill_on"])


# Tax and accounting


def apply_old_tax_rate(plans: list[ContractPlan]) -> None:
    """Apply Germany's temporary 16 % VAT rate of July to December 2020 to the schedule."""
    BillingScheduleLine.objects.filter(schedule__contract__number=plans[0].number).update(
        tax_rate=D("16")
    )


def clear_exemption_reason(plans: list[ContractPlan]) -> None:
    BillingScheduleLine.objects.filter(schedule__contract__number=plans[0].number).update(
        exemption_reason=""
    )


def clear_gl_account(plans: list[ContractPlan]) -> None:
    for line in _schedule_lines(plans[0], "PLATFORM"):
        line.gl_account = ""
        line.save(update_fields=["gl_account"])


def use_unmapped_gl_account(plans: list[ContractPlan]) -> None:
    """Post the platform fee to 4090, a legacy revenue account missing from the chart."""
    for line in _schedule_lines(plans[0], "PLATFORM"):
        line.gl_account = "4090"
        line.save(update_fields=["gl_account"])


def switch_schedule_currency(plans: list[ContractPlan]) -> None:
    BillingSchedule.objects.filter(contract__number=plans[0].number).update(currency="USD")


# Duplicates, limits and coverage


def issue_november_by_hand(plans: list[ContractPlan]) -> None:
    """Issue November's invoice on 28 October as the legacy system, outside the billing run."""
    plan = plans[0]
    _issue_legacy_invoice(
        _november_draft(plan), Contract.objects.get(number=plan.number), "LEG-1101"
    )


def bill_predecessor_again(plans: list[ContractPlan]) -> None:
    """Bill the ended predecessor once more, for November, as the legacy system."""
    renewal, predecessor = plans
    draft = _november_draft(renewal)
    _issue_legacy_invoice(draft, Contract.objects.get(number=predecessor.number), "LEG-1102")


# Controls


def apply_emergency_change_unreviewed(plans: list[ContractPlan]) -> None:
    """Have the administrator lengthen the payment terms from 1 October on the emergency path.

    Nobody reviews the change, so every draft of the contract from October on is held.
    """
    plan = plans[0]
    assert plan.terms.payment_terms_days != EMERGENCY_PAYMENT_TERMS_DAYS
    change_emergency_apply(
        by=User.objects.get(username=EMERGENCY_CHANGE_USER),
        target=Target.CONTRACT,
        target_id=Contract.objects.get(number=plan.number).pk,
        changes={"payment_terms_days": EMERGENCY_PAYMENT_TERMS_DAYS},
        reason="The customer's accounts payable rejects invoices due in under 90 days; "
        "agreed on the phone, the amendment follows.",
        effective_from=dt.date(2026, 10, 1),
    )


# Helpers


def _first_version(plan: ContractPlan) -> ContractVersion:
    return ContractVersion.objects.select_related("sow_document").get(
        contract__number=plan.number, version_number=1
    )


def _schedule_lines(plan: ContractPlan, line_code: str) -> list[BillingScheduleLine]:
    lines = list(
        BillingScheduleLine.objects.filter(
            schedule__contract__number=plan.number, line_code=line_code
        )
    )
    assert lines, f"contract {plan.number} has no schedule line {line_code}"
    return lines


def _november_draft(plan: ContractPlan) -> DraftPlan:
    contract = Contract.objects.get(number=plan.number)
    sources = load_draft_sources([contract.pk], RUN_PERIOD)
    draft = draft_contract(sources[0], RUN_PERIOD)
    assert draft is not None, f"contract {plan.number} bills nothing in {RUN_PERIOD}"
    return draft


def _issue_legacy_invoice(draft: DraftPlan, contract: Contract, legacy_number: str) -> None:
    """Store ``draft`` as an invoice of ``contract`` that the legacy system issued on 28 October."""
    draft.draft_key = f"legacy:{legacy_number}"
    checked = CheckedPlan(
        plan=draft,
        contract_id=contract.pk,
        seller_entity_id=contract.seller_entity_id,
        findings=[],
    )
    invoices = invoices_save_drafts(checked=[checked], billing_run=None)
    # The legacy system delivered it, so it gets no delivery row here.
    invoices_issue(invoices=invoices, issue_date=dt.date(2026, 10, 28), deliver=False)
