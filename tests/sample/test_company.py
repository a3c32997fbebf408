"""The sample company: every seeded fault is found, and nothing else is.

A small book (40 customers, 90 contracts) contains every fault carrier and every contract shape,
so each test builds one of its own quickly. The full-size company is the slow test at the end.
"""

import datetime as dt
import hashlib
from collections import defaultdict
from pathlib import Path

import pytest
from django.db import transaction

from billguard.billing.models import Invoice
from billguard.billing.run import RunResult, billing_run_execute
from billguard.checks.guard import check_documents
from billguard.controls.models import AuditEntry, ChangeRequest, Delegation
from billguard.controls.overview import controls_overview, format_controls
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.domain.periods import parse_period
from billguard.integrations.drafts import read_drafts
from billguard.procurement.models import PurchaseOrder
from billguard.registry.models import (
    BillingSchedule,
    BillingScheduleLine,
    BillToEntity,
    Contract,
    ContractLine,
    ContractVersion,
    Document,
    Party,
    Timesheet,
    UsageRecord,
)
from billguard.sample.company import (
    AS_OF,
    PERIOD,
    SEED,
    SampleSummary,
    generate_sample_company,
    sample_company_exists,
)
from billguard.sample.faults import FAULT_NAMES, SeededFault

pytestmark = pytest.mark.django_db

SMALL_BOOK = {"customers": 40, "contracts": 90}

# Check codes that some seeded fault must produce.
REQUIRED_CODES = frozenset(
    """
    AMENDMENT_NOT_APPLIED PARTY_DUPLICATE_SUSPECTED TAX_ID_INVALID BILL_TO_MISMATCH
    PO_CEILING_EXCEEDED SOW_SUPERSEDED GL_ACCOUNT_UNKNOWN ESCALATION_NOT_APPLIED
    CONTRACT_FIELD_MISSING SOW_MISSING CONTRACT_NOT_ACTIVE BILL_TO_MISSING BILL_TO_INACTIVE
    TAX_ID_MISSING PRICE_MISMATCH AMENDMENT_PENDING MINIMUM_COMMITMENT_SHORTFALL
    CONTRACT_EXPIRED DISCOUNT_NOT_APPROVED QUANTITY_MISMATCH MILESTONE_NOT_ACCEPTED
    MILESTONE_ALREADY_BILLED TAX_RATE_MISMATCH TAX_EXEMPTION_REASON_MISSING GL_ACCOUNT_MISSING
    CURRENCY_MISMATCH ALREADY_INVOICED DUPLICATE_INVOICE_SUSPECTED BILLING_PERIOD_MISSED
    TOTALS_INCONSISTENT CONTRACT_NOT_FOUND EMERGENCY_CHANGE_UNREVIEWED
    PASS_THROUGH_COST_CHANGED
    """.split()
)


def build(tmp_path: Path, **options: object) -> SampleSummary:
    arguments = {**SMALL_BOOK, **options}
    return generate_sample_company(external_drafts_dir=tmp_path / "drafts", **arguments)


def run_period() -> RunResult:
    return billing_run_execute(period=parse_period(PERIOD))


def findings_by_subject(summary: SampleSummary, result: RunResult) -> dict[str, set[str]]:
    """Codes found per contract number (billing run) and per draft file name (guard mode)."""
    found: dict[str, set[str]] = defaultdict(set)
    for outcome in result.outcomes:
        for finding in outcome.findings:
            found[outcome.contract_number].add(finding.code)
    documents = [document for path in summary.external_drafts for document in read_drafts(path)]
    for guarded in check_documents(documents, as_of=AS_OF):
        for finding in guarded.findings:
            found[guarded.document.source].add(finding.code)
    return dict(found)


def expected_by_subject(faults: list[SeededFault]) -> dict[str, set[str]]:
    expected: dict[str, set[str]] = defaultdict(set)
    for fault in faults:
        expected[fault.subject] |= fault.expected_codes
    return dict(expected)


def test_seeded_faults_cover_every_required_code(tmp_path):
    summary = build(tmp_path)

    names = {fault.name for fault in summary.seeded_faults}
    codes = set().union(*(fault.expected_codes for fault in summary.seeded_faults))

    assert names == set(FAULT_NAMES)
    assert codes >= REQUIRED_CODES


def test_every_seeded_fault_is_found_on_its_subject(tmp_path):
    summary = build(tmp_path)

    found = findings_by_subject(summary, run_period())

    for fault in summary.seeded_faults:
        missing = fault.expected_codes - found.get(fault.subject, set())
        assert not missing, f"{fault.name} on {fault.subject}: {sorted(missing)} not found"


def test_nothing_found_outside_seeded_faults(tmp_path):
    summary = build(tmp_path)
    expected = expected_by_subject(summary.seeded_faults)

    found = findings_by_subject(summary, run_period())

    for subject, codes in found.items():
        assert subject in expected, f"{subject} is clean but has {sorted(codes)}"
        extra = codes - expected[subject]
        assert not extra, f"{subject} has unexpected {sorted(extra)}"


def test_clean_external_draft_has_no_findings(tmp_path):
    summary = build(tmp_path)
    documents = [document for path in summary.external_drafts for document in read_drafts(path)]

    results = check_documents(documents, as_of=AS_OF)

    clean = [r for r in results if r.document.source == "legacy-invoice-LEG-2026-1108.xml"]
    assert len(clean) == 1
    assert clean[0].contract_number
    assert clean[0].findings == []


@pytest.mark.parametrize(
    "left_out",
    [
        "amendment_not_applied",
        "duplicate_customer",
        "period_already_invoiced",
        "skipped_billing_period",
        "milestone_billed_twice",
        "external_totals_inconsistent",
        "emergency_change_unreviewed",
        "pass_through_cost_changed",
    ],
)
def test_leaving_a_fault_out_removes_only_its_findings(tmp_path, left_out):
    summary = build(tmp_path, faults=[name for name in FAULT_NAMES if name != left_out])

    found = findings_by_subject(summary, run_period())

    assert left_out not in {fault.name for fault in summary.seeded_faults}
    assert found == expected_by_subject(summary.seeded_faults)


def test_same_seed_gives_same_company(tmp_path):
    first = digest_of_generation(tmp_path / "first", SEED)
    second = digest_of_generation(tmp_path / "second", SEED)
    other_seed = digest_of_generation(tmp_path / "other", SEED + 1)

    assert first == second
    assert first != other_seed


def test_second_run_issues_nothing_again(tmp_path):
    build(tmp_path)
    first = run_period()
    issued_after_first = Invoice.objects.filter(status=Invoice.Status.ISSUED).count()

    second = run_period()

    assert first.issued
    assert second.issued == []
    assert second.already_issued == len(first.issued)
    assert {o.draft_key for o in second.held} == {o.draft_key for o in first.held}
    assert Invoice.objects.filter(status=Invoice.Status.ISSUED).count() == issued_after_first
    assert Invoice.objects.filter(status=Invoice.Status.HELD).count() == len(first.held)


def test_book_has_every_shape(tmp_path):
    summary = build(tmp_path)

    kinds = set(ContractLine.objects.values_list("kind", flat=True))
    cadences = set(ContractVersion.objects.values_list("cadence", flat=True))
    billing_days = set(ContractVersion.objects.values_list("billing_day", flat=True))
    sources = set(BillingSchedule.objects.values_list("source", flat=True))

    assert kinds == {"recurring_fixed", "usage", "milestone", "time_and_materials"}
    assert cadences == {"monthly", "quarterly", "yearly"}
    assert {29, 30, 31} <= billing_days
    assert sources == {"registry", "legacy"}
    assert summary.sellers == 2
    assert summary.customers == SMALL_BOOK["customers"]
    # The planned contracts and the bespoke contract that waits for approval.
    assert summary.contracts == SMALL_BOOK["contracts"] + 1
    assert summary.amendments > 0
    assert summary.versions > summary.contracts
    assert summary.history_invoices == Invoice.objects.filter(status="issued").count()
    assert summary.vendors == Party.objects.filter(kind=Party.Kind.VENDOR).count() > 0
    assert summary.purchase_orders == PurchaseOrder.objects.count() > 0
    assert Document.objects.filter(kind="sow", revision=2).exists()
    assert ContractVersion.objects.filter(price_changes__isnull=False).exists()


def test_schedules_follow_uplifts_and_price_lists(tmp_path):
    build(tmp_path)

    split_lines = BillingScheduleLine.objects.filter(effective_to__isnull=False)

    assert split_lines.filter(kind="usage", effective_to=dt.date(2026, 7, 1)).exists()
    assert split_lines.filter(kind="recurring_fixed").exists()


def test_tax_ids_valid_except_seeded_fault(tmp_path):
    summary = build(tmp_path)
    [subject] = [f.subject for f in summary.seeded_faults if f.name == "invalid_tax_id"]
    faulty_bill_to = ContractVersion.objects.get(contract__number=subject).bill_to

    with_tax_id = BillToEntity.objects.exclude(tax_id="")
    invalid = list(with_tax_id.exclude(tax_id_valid=True))

    assert invalid == [faulty_bill_to]
    assert with_tax_id.count() >= SMALL_BOOK["customers"] - 1


def test_activity_covers_arrears_period(tmp_path):
    build(tmp_path)

    october = {"service_date__gte": dt.date(2026, 10, 1), "service_date__lt": AS_OF}

    assert UsageRecord.objects.filter(**october).exists()
    assert Timesheet.objects.filter(work_date__gte=dt.date(2026, 10, 1)).exists()
    assert not UsageRecord.objects.filter(service_date__gte=AS_OF).exists()


def test_contracts_activated_through_gate_or_import(tmp_path):
    summary = build(tmp_path)

    imported = AuditEntry.objects.filter(action="contract.create", after__imported=True)
    activated = AuditEntry.objects.filter(action="contract.activate")
    drafts = Contract.objects.filter(status=Contract.Status.DRAFT)

    assert sorted(e.after["number"] for e in imported) == sorted(
        fault.subject
        for fault in summary.seeded_faults
        if fault.name in ("missing_contract_field", "missing_sow")
    )
    assert activated.count() == SMALL_BOOK["contracts"] - imported.count()
    assert [c.number for c in drafts] == [f"C-{1001 + SMALL_BOOK['contracts']}"]
    assert drafts.get().versions.get().bespoke_fields == [
        "liquidated_damages",
        "termination_rights",
    ]
    assert not ContractVersion.objects.exclude(contract__in=drafts).exclude(bespoke_fields=[])


def test_bespoke_contract_not_billed(tmp_path):
    build(tmp_path)
    bespoke = Contract.objects.get(status=Contract.Status.DRAFT)

    result = run_period()

    assert bespoke.number not in {outcome.contract_number for outcome in result.outcomes}
    assert result.contracts_considered < Contract.objects.count()


def test_controls_state_waits_for_decisions(tmp_path):
    summary = build(tmp_path)
    [emergency_subject] = [
        f.subject for f in summary.seeded_faults if f.name == "emergency_change_unreviewed"
    ]
    bespoke = Contract.objects.get(status=Contract.Status.DRAFT)

    pending = list(ChangeRequest.objects.filter(status="pending").order_by("pk"))
    emergency = ChangeRequest.objects.get(emergency=True)
    delegation = Delegation.objects.get()

    assert [r.requested_by.get_username() for r in pending] == ["sam.sales", "sam.sales"]
    discount, activation = pending
    assert discount.target == "contract"
    assert discount.categories == ["discount"]
    assert discount.changes["discounts"][0]["percent"] == "12"
    assert discount.effective_from == dt.date(2026, 12, 1)
    assert "finance_approver" in {rule["role"] for rule in discount.required}
    assert activation.target == "contract_activation"
    assert activation.target_id == str(bespoke.pk)
    assert emergency.requested_by.get_username() == "ada.admin"
    assert emergency.reviewed_at is None
    assert emergency.target_label == f"contract {emergency_subject}"
    assert emergency.changes == {"payment_terms_days": 90}
    assert emergency.effective_from == dt.date(2026, 10, 1)
    assert delegation.delegator.get_username() == "alex.approver"
    assert delegation.delegate.get_username() == "blake.approver"
    assert delegation.starts_on < AS_OF < delegation.ends_on
    assert (delegation.ends_on - delegation.starts_on).days == 6


def test_pending_discount_changes_no_draft(tmp_path):
    build(tmp_path)
    discount = ChangeRequest.objects.get(status="pending", target="contract")
    contract = Contract.objects.get(pk=int(discount.target_id))

    result = run_period()

    [outcome] = [o for o in result.outcomes if o.contract_number == contract.number]
    assert outcome.findings == []
    assert contract.versions.count() == 1


def test_controls_section_lists_waiting_work(tmp_path):
    build(tmp_path)
    run_period()
    discount, activation = ChangeRequest.objects.filter(status="pending").order_by("pk")
    emergency = ChangeRequest.objects.get(emergency=True)
    bespoke = Contract.objects.get(status=Contract.Status.DRAFT)

    overview = controls_overview()
    text = format_controls(overview)

    assert overview.audit.intact
    assert overview.audit.entries_checked == AuditEntry.objects.count()
    lines = text.splitlines()
    assert lines[0] == "Controls"
    assert lines[1].split() == ["change", "requests", "pending", "2"]
    assert lines[2].startswith(f"    {discount.pk}  {discount.target_label}: discount; ")
    assert "requested by sam.sales" in lines[2]
    assert "1 finance_approver (discount above 10 percent)" in lines[2]
    assert lines[3].startswith(
        f"    {activation.pk}  activation of contract {bespoke.number}: bespoke "
        "liquidated_damages, termination_rights; requested by sam.sales"
    )
    assert lines[4].split() == ["emergency", "changes", "awaiting", "review", "1"]
    assert lines[5] == (
        f"    {emergency.pk}  {emergency.target_label}: payment_terms from 2026-10-01; "
        "applied by ada.admin"
    )
    assert lines[6].split() == ["contracts", "waiting", "for", "activation", "1", "(not", "billed)"]
    assert lines[7] == (
        f"    {bespoke.number}  bespoke in liquidated_damages, termination_rights; "
        f"approval asked in change request {activation.pk}"
    )
    assert lines[8] == f"  audit trail  verified intact, {AuditEntry.objects.count()} entries"
    assert len(lines) == 9


def test_generation_refuses_existing_company(tmp_path):
    build(tmp_path)

    assert sample_company_exists()
    with pytest.raises(RuleViolation):
        build(tmp_path)


def test_unknown_fault_name_rejected(tmp_path):
    with pytest.raises(InvalidInput):
        build(tmp_path, faults=["no_such_fault"])

    assert not sample_company_exists()


def test_too_small_book_rejected(tmp_path):
    with pytest.raises(InvalidInput):
        build(tmp_path, contracts=20)


@pytest.mark.slow
def test_full_size_company_finds_exactly_the_seeded_faults(tmp_path):
    summary = generate_sample_company(external_drafts_dir=tmp_path / "drafts")

    found = findings_by_subject(summary, run_period())

    assert summary.customers == 300
    assert summary.contracts == 801
    assert found == expected_by_subject(summary.seeded_faults)


class GenerationRolledBackError(Exception):
    """Raised to roll a generation back after its digest is taken."""


def digest_of_generation(drafts_dir: Path, seed: int) -> str:
    """Generate the small book with ``seed``, hash its key fields, then roll it back."""
    digest = ""
    try:
        with transaction.atomic():
            summary = generate_sample_company(
                seed=seed, external_drafts_dir=drafts_dir, **SMALL_BOOK
            )
            digest = company_digest(summary)
            raise GenerationRolledBackError
    except GenerationRolledBackError:
        pass
    return digest


def company_digest(summary: SampleSummary) -> str:
    """SHA-256 over natural keys and values: numbers, prices, quantities, tax IDs, totals."""
    rows: list[str] = []
    for contract in Contract.objects.order_by("number").select_related("party"):
        rows.append(f"{contract.number}|{contract.party.code}|{contract.contract_type}")
    for line in ContractLine.objects.select_related("version__contract").order_by(
        "version__contract__number", "version__version_number", "line_code"
    ):
        rows.append(
            f"{line.version.contract.number}|{line.version.version_number}|{line.line_code}|"
            f"{line.unit_price}|{line.quantity}"
        )
    for bill_to in BillToEntity.objects.order_by("code"):
        rows.append(f"{bill_to.code}|{bill_to.name}|{bill_to.tax_id}|{bill_to.postcode}")
    for record in UsageRecord.objects.order_by("external_id"):
        rows.append(f"{record.external_id}|{record.service_date}|{record.quantity}")
    for sheet in Timesheet.objects.order_by("external_id"):
        rows.append(f"{sheet.external_id}|{sheet.work_date}|{sheet.hours}|{sheet.person}")
    for invoice in Invoice.objects.order_by("seller_entity__code", "number"):
        rows.append(f"{invoice.number}|{invoice.draft_key}|{invoice.payable}")
    for fault in summary.seeded_faults:
        rows.append(f"{fault.name}|{fault.subject}")
    for path in summary.external_drafts:
        rows.append(f"{path.name}|{hashlib.sha256(path.read_bytes()).hexdigest()}")
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()
