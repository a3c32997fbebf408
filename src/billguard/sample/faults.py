"""The faults seeded into the sample company, and the findings each one must produce.

Every fault lives in source data (a contract, a schedule, usage records, documents, the invoice
history or a file drafted by another system), never in a draft. Its subject is the contract
number whose November draft must show the expected codes, or the name of the external draft
file that guard mode must flag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from billguard.sample import fault_carriers as carriers
from billguard.sample import fault_changes as changes
from billguard.sample import pass_through
from billguard.sample.plans import Book, ContractPlan

# External draft files that another billing system wrote for November.
TOTALS_DRAFT_FILE = "legacy-invoice-LEG-2026-1107.xml"
UNKNOWN_CONTRACT_DRAFT_FILE = "legacy-drafts-2026-11.csv"
CLEAN_DRAFT_FILE = "legacy-invoice-LEG-2026-1108.xml"


@dataclass(frozen=True)
class SeededFault:
    name: str
    subject: str  # contract number, or the file name of an external draft
    expected_codes: frozenset[str]
    description: str


@dataclass(frozen=True)
class FaultSpec:
    """The recipe of one fault: its carriers, a change of their plans and a change of records.

    ``prepare`` changes the carriers' plans before anything is written: terms entered without
    a field, a schedule that is never updated, a month that is never billed. ``change`` breaks
    the written records after the invoice history exists. ``external_file`` names the external
    draft with the fault.
    """

    name: str
    codes: frozenset[str]
    description: str
    plan: carriers.CarrierPlanner
    prepare: Callable[[list[ContractPlan]], None] | None = None
    change: changes.FaultChange | None = None
    external_file: str = ""

    def subjects(self, book: Book) -> list[str]:
        if self.external_file:
            return [self.external_file]
        return [plan.number for plan in book.contracts if plan.role == self.name]


FAULTS: tuple[FaultSpec, ...] = (
    FaultSpec(
        "amendment_not_applied",
        frozenset({"AMENDMENT_NOT_APPLIED"}),
        "A seat expansion was signed and approved from September, but the billing schedule "
        "was never updated, so every month since is billed with the old seat count.",
        carriers.plan_amendment_not_applied,
        prepare=carriers.prepare_amendment_not_applied,
    ),
    FaultSpec(
        "duplicate_customer",
        frozenset({"PARTY_DUPLICATE_SUSPECTED"}),
        "The same customer was entered twice (once in capitals), and both records have a "
        "contract: same tax ID, same postcode.",
        carriers.plan_duplicate_customer,
        change=changes.copy_first_customer,
    ),
    FaultSpec(
        "invalid_tax_id",
        frozenset({"TAX_ID_INVALID"}),
        "The bill-to entity's VAT ID has a wrong check digit.",
        carriers.plan_invalid_tax_id,
        change=changes.break_tax_id_check_digit,
    ),
    FaultSpec(
        "wrong_bill_to",
        frozenset({"BILL_TO_MISMATCH"}),
        "The billing schedule invoices the customer's other bill-to entity, not the one in "
        "the contract.",
        carriers.plan_wrong_bill_to,
        change=changes.move_schedule_to_other_bill_to,
    ),
    FaultSpec(
        "po_ceiling_exceeded",
        frozenset({"PO_CEILING_EXCEEDED"}),
        "The customer's PO has a ceiling that November's invoice takes the billed total past.",
        carriers.plan_po_ceiling_exceeded,
        prepare=carriers.prepare_po_ceiling_exceeded,
    ),
    FaultSpec(
        "superseded_sow",
        frozenset({"SOW_SUPERSEDED"}),
        "The customer signed SOW revision 2 in October, but the contract still prices from "
        "revision 1.",
        carriers.plan_superseded_sow,
        change=changes.sign_newer_sow,
    ),
    FaultSpec(
        "unmapped_gl_account",
        frozenset({"GL_ACCOUNT_UNKNOWN"}),
        "The legacy schedule posts the platform fee to account 4090, which is not in the "
        "chart of accounts.",
        carriers.plan_unmapped_gl_account,
        change=changes.use_unmapped_gl_account,
    ),
    FaultSpec(
        "missed_uplift",
        frozenset({"ESCALATION_NOT_APPLIED"}),
        "The contract's 4 % annual uplift of 1 November 2026 never reached the schedule.",
        carriers.plan_missed_uplift,
        prepare=carriers.prepare_missed_uplift,
    ),
    FaultSpec(
        "missing_contract_field",
        frozenset({"CONTRACT_FIELD_MISSING"}),
        "The contract version has no escalation contact.",
        carriers.plan_missing_contract_field,
        prepare=carriers.prepare_missing_contract_field,
    ),
    FaultSpec(
        "missing_sow",
        frozenset({"SOW_MISSING"}),
        "The services contract's version has no SOW document.",
        carriers.plan_missing_sow,
        prepare=carriers.prepare_missing_sow,
    ),
    FaultSpec(
        "service_before_contract_start",
        frozenset({"CONTRACT_NOT_ACTIVE"}),
        "The contract takes effect on 10 November, but the schedule starts on the 1st.",
        carriers.plan_service_before_start,
        change=changes.start_schedule_early,
    ),
    FaultSpec(
        "missing_bill_to",
        frozenset({"BILL_TO_MISSING"}),
        "The billing schedule has no bill-to entity.",
        carriers.plan_missing_bill_to,
        change=changes.clear_schedule_bill_to,
    ),
    FaultSpec(
        "archived_bill_to",
        frozenset({"BILL_TO_INACTIVE"}),
        "The contract's bill-to entity was archived in October.",
        carriers.plan_archived_bill_to,
        change=changes.archive_bill_to,
    ),
    FaultSpec(
        "missing_tax_id",
        frozenset({"TAX_ID_MISSING"}),
        "A reverse-charge customer in France has no VAT ID on its bill-to entity.",
        carriers.plan_missing_tax_id,
        change=changes.clear_tax_id,
    ),
    FaultSpec(
        "schedule_price_differs",
        frozenset({"PRICE_MISMATCH"}),
        "The legacy schedule bills the platform fee 5 % below the signed price.",
        carriers.plan_schedule_price_differs,
        change=changes.lower_schedule_price,
    ),
    FaultSpec(
        "amendment_pending",
        frozenset({"AMENDMENT_PENDING"}),
        "A higher platform fee from November is signed but waits for approval.",
        carriers.plan_amendment_pending,
        change=changes.sign_pending_amendment,
    ),
    FaultSpec(
        "minimum_commitment_shortfall",
        frozenset({"MINIMUM_COMMITMENT_SHORTFALL"}),
        "October's usage is far below the monthly minimum commitment, and nothing bills the "
        "difference.",
        carriers.plan_minimum_shortfall,
        change=changes.cut_october_usage,
    ),
    FaultSpec(
        "billing_after_contract_end",
        frozenset({"CONTRACT_EXPIRED"}),
        "The pilot ended on 31 October without renewal, but its schedule keeps running.",
        carriers.plan_contract_ended,
        change=changes.keep_schedule_running,
    ),
    FaultSpec(
        "unapproved_discount",
        frozenset({"DISCOUNT_NOT_APPROVED"}),
        "The schedule gives ten points more discount on seats than the contract approves.",
        carriers.plan_unapproved_discount,
        change=changes.raise_schedule_discount,
    ),
    FaultSpec(
        "schedule_quantity_differs",
        frozenset({"QUANTITY_MISMATCH"}),
        "The legacy schedule bills five seats fewer than the contract.",
        carriers.plan_schedule_quantity_differs,
        change=changes.lower_schedule_quantity,
    ),
    FaultSpec(
        "milestone_not_accepted",
        frozenset({"MILESTONE_NOT_ACCEPTED"}),
        "Milestone M2 is due in November, but its acceptance was never recorded.",
        carriers.plan_milestone_not_accepted,
        change=changes.drop_milestone_acceptance,
    ),
    FaultSpec(
        "milestone_billed_twice",
        frozenset({"MILESTONE_ALREADY_BILLED"}),
        "Milestone M1, invoiced in September, was put on the schedule again for November.",
        carriers.plan_milestone_billed_twice,
        change=changes.reschedule_billed_milestone,
    ),
    FaultSpec(
        pass_through.FAULT_NAME,
        frozenset({"PASS_THROUGH_COST_CHANGED"}),
        "The licence is resold at cost plus 25 %, and the vendor's order was amended to a "
        "6 % higher price after the customer terms were set; neither the customer price nor "
        "the difference was approved.",
        pass_through.plan_pass_through,
        change=pass_through.raise_vendor_price,
    ),
    FaultSpec(
        "wrong_tax_rate",
        frozenset({"TAX_RATE_MISMATCH"}),
        "The legacy schedule applies 16 % VAT to a German customer instead of 19 %.",
        carriers.plan_wrong_tax_rate,
        change=changes.apply_old_tax_rate,
    ),
    FaultSpec(
        "missing_exemption_reason",
        frozenset({"TAX_EXEMPTION_REASON_MISSING"}),
        "The reverse-charge lines of an EU customer's schedule have no exemption reason.",
        carriers.plan_missing_exemption_reason,
        change=changes.clear_exemption_reason,
    ),
    FaultSpec(
        "missing_gl_account",
        frozenset({"GL_ACCOUNT_MISSING"}),
        "The platform fee line of the schedule has no GL account.",
        carriers.plan_missing_gl_account,
        change=changes.clear_gl_account,
    ),
    FaultSpec(
        "wrong_currency",
        frozenset({"CURRENCY_MISMATCH"}),
        "The legacy schedule bills a EUR contract in USD.",
        carriers.plan_wrong_currency,
        change=changes.switch_schedule_currency,
    ),
    FaultSpec(
        "period_already_invoiced",
        frozenset({"ALREADY_INVOICED"}),
        "The legacy system already issued November's invoice by hand on 28 October.",
        carriers.plan_period_already_invoiced,
        change=changes.issue_november_by_hand,
    ),
    FaultSpec(
        "duplicate_legacy_invoice",
        frozenset({"DUPLICATE_INVOICE_SUSPECTED"}),
        "The legacy system billed the ended predecessor contract for November with the same "
        "PO and amount as the renewal that the run bills.",
        carriers.plan_duplicate_legacy_invoice,
        change=changes.bill_predecessor_again,
    ),
    FaultSpec(
        "skipped_billing_period",
        frozenset({"BILLING_PERIOD_MISSED"}),
        "September 2026 was never invoiced.",
        carriers.plan_skipped_billing_period,
        prepare=carriers.prepare_skipped_billing_period,
    ),
    FaultSpec(
        "emergency_change_unreviewed",
        frozenset({"EMERGENCY_CHANGE_UNREVIEWED"}),
        "The administrator lengthened the payment terms from October on the emergency path, "
        "without approvals, and nobody has reviewed the change.",
        carriers.plan_emergency_change_unreviewed,
        change=changes.apply_emergency_change_unreviewed,
    ),
    FaultSpec(
        "external_totals_inconsistent",
        frozenset({"TOTALS_INCONSISTENT"}),
        "The legacy system's UBL invoice states an amount due 100.00 above its total with VAT.",
        carriers.plan_external_contract,
        external_file=TOTALS_DRAFT_FILE,
    ),
    FaultSpec(
        "external_unknown_contract",
        frozenset({"CONTRACT_NOT_FOUND"}),
        "The legacy system's CSV draft names a contract that the registry does not know.",
        carriers.plan_nothing,
        external_file=UNKNOWN_CONTRACT_DRAFT_FILE,
    ),
)

FAULT_NAMES: tuple[str, ...] = tuple(fault.name for fault in FAULTS)


def fault_spec(name: str) -> FaultSpec:
    for fault in FAULTS:
        if fault.name == name:
            return fault
    raise KeyError(name)


def seeded_faults(book: Book, names: set[str]) -> list[SeededFault]:
    """Return the seeded faults of ``names`` with their subjects in ``book``, one per subject."""
    return [
        SeededFault(fault.name, subject, fault.codes, fault.description)
        for fault in FAULTS
        if fault.name in names
        for subject in fault.subjects(book)
    ]
