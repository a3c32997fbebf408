"""Every role against every writing service: the write happens, or NotAllowed and nothing changes.

The expected table is written out here on purpose and not read from ROLE_ACTIONS, so that a
change of a role's permissions in billguard.controls.roles makes these tests fail until the
table below is changed too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User

from billguard.billing.credit import credit_note_issue, invoice_by_number
from billguard.billing.exceptions import exception_resolve, exceptions_open
from billguard.billing.models import BillingRun, ExceptionResolution, Invoice
from billguard.billing.run import billing_run_execute
from billguard.controls.models import ChangeRequest
from billguard.controls.models.roles import Role
from billguard.controls.roles import roles_install
from billguard.domain.errors import NotAllowed
from billguard.domain.periods import parse_period
from billguard.procurement.certifications import vendor_certification_record
from billguard.procurement.cost_resolution import cost_change_approve_difference
from billguard.procurement.models import (
    CostChange,
    CostLink,
    MatchTolerance,
    OnboardingItem,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    VendorCertification,
    VendorInvoice,
    VendorProfile,
    VendorScore,
)
from billguard.procurement.onboarding import vendor_item_record, vendor_profile_set
from billguard.procurement.order_decisions import (
    purchase_order_approve_held,
    purchase_order_reject,
)
from billguard.procurement.passthrough import cost_link_agreement_revision, cost_link_create
from billguard.procurement.purchase_orders import (
    purchase_order_amend,
    purchase_order_approve,
    purchase_order_close,
    purchase_order_create,
    purchase_order_recheck,
)
from billguard.procurement.receipts import receipt_record
from billguard.procurement.scorecards import vendor_scores_compute
from billguard.procurement.tolerances import match_tolerance_set
from billguard.procurement.vendor_invoice_import import vendor_invoices_import
from billguard.procurement.vendor_invoices import (
    vendor_invoice_approve,
    vendor_invoice_recheck,
    vendor_invoice_record,
    vendor_invoice_reject,
    vendor_invoices_recheck_held,
)
from billguard.receivables.disputes import dispute_open, dispute_reject, dispute_resolve
from billguard.receivables.models import Dispute, Payment, PaymentAllocation
from billguard.receivables.payments import PaymentInput, payment_allocate, payment_record
from billguard.registry.models import (
    Amendment,
    BillingSchedule,
    BillToEntity,
    Contract,
    Document,
    DuplicateCandidate,
    GLAccount,
    MilestoneAcceptance,
    Party,
    PartyMerge,
    SellerEntity,
    Timesheet,
    UsageRecord,
)
from billguard.registry.party_merge import party_merge_undo
from billguard.registry.services.amendments import amendment_draft, amendment_sign
from billguard.registry.services.contracts import contract_create, contract_version_create
from billguard.registry.services.documents import document_store
from billguard.registry.services.duplicates import duplicate_candidate_dismiss, duplicates_scan
from billguard.registry.services.entities import (
    chart_of_accounts_import,
    gl_account_create,
    seller_entity_create,
)
from billguard.registry.services.parties import bill_to_archive, bill_to_create, party_create
from billguard.registry.services.schedules import (
    schedule_apply_amendment,
    schedule_create_from_version,
)
from billguard.registry.services.sources import milestone_accept, timesheet_add, usage_record_add
from billguard.registry.terms import LineTerms, VersionTerms, terms_from_version
from tests.factories import make_contract, make_customer, make_gl_accounts, make_seller, make_sow
from tests.procurement import invoicing
from tests.procurement.ordering import hosting_line, make_cost_accounts, make_order, make_vendor

D = Decimal

# Who may call each writing service: "yes" means the write happens, "no" means NotAllowed.
EXPECTED_TABLE = """
service                       sales procurement finance finance_approver administrator auditor
party_create                  yes   yes         yes     no               yes           no
bill_to_create                yes   no          yes     no               yes           no
bill_to_archive               yes   no          yes     no               yes           no
seller_entity_create          no    no          yes     no               yes           no
gl_account_create             no    no          yes     no               yes           no
chart_of_accounts_import      no    no          yes     no               yes           no
contract_create               yes   no          yes     no               yes           no
schedule_create_from_version  no    no          yes     no               yes           no
schedule_apply_amendment      no    no          yes     no               yes           no
document_store                yes   yes         yes     yes              yes           no
usage_record_add              yes   yes         yes     no               yes           no
timesheet_add                 yes   yes         yes     no               yes           no
milestone_accept              yes   yes         yes     no               yes           no
amendment_draft               yes   yes         no      no               yes           no
amendment_sign                yes   yes         no      no               yes           no
billing_run_execute           no    no          yes     yes              yes           no
credit_note_issue             no    no          yes     yes              yes           no
exception_resolve             no    no          yes     yes              yes           no
duplicates_scan               no    yes         yes     no               yes           no
duplicate_candidate_dismiss   no    yes         yes     no               yes           no
purchase_order_create         no    yes         no      no               yes           no
purchase_order_approve        no    yes         no      no               yes           no
purchase_order_recheck        no    yes         no      no               yes           no
purchase_order_amend          no    yes         no      no               yes           no
purchase_order_close          no    yes         no      no               yes           no
purchase_order_approve_held   no    no          no      yes              yes           no
purchase_order_reject         no    no          no      yes              yes           no
receipt_record                no    yes         yes     no               yes           no
match_tolerance_set           no    yes         no      no               yes           no
vendor_invoice_record         no    yes         yes     no               yes           no
vendor_invoices_import        no    yes         yes     no               yes           no
vendor_invoice_recheck        no    yes         yes     no               yes           no
vendor_invoices_recheck_held  no    yes         yes     no               yes           no
vendor_invoice_approve        no    no          no      yes              yes           no
vendor_invoice_reject         no    no          no      yes              yes           no
vendor_scores_compute         no    yes         yes     no               yes           no
vendor_profile_set            no    yes         no      no               yes           no
vendor_item_record            no    yes         no      no               yes           no
vendor_certification_record   no    yes         no      no               yes           no
cost_link_create              no    yes         yes     no               yes           no
cost_link_agreement_revision  no    yes         yes     no               yes           no
cost_change_approve_difference no   yes         yes     no               yes           no
party_merge_undo              no    no          no      yes              yes           no
payment_record                no    no          yes     no               yes           no
payment_allocate              no    no          yes     no               yes           no
dispute_open                  yes   no          yes     no               yes           no
dispute_reject                no    no          yes     yes              yes           no
dispute_resolve               no    no          yes     yes              yes           no
"""


def parse_table(text: str) -> tuple[list[str], dict[str, dict[str, bool]]]:
    header, *rows = [line.split() for line in text.strip().splitlines()]
    roles = header[1:]
    table = {}
    for service, *cells in rows:
        assert len(cells) == len(roles), f"row {service} has {len(cells)} cells"
        assert set(cells) <= {"yes", "no"}, f"row {service} has a cell other than yes or no"
        table[service] = {role: cell == "yes" for role, cell in zip(roles, cells, strict=True)}
    return roles, table


TABLE_ROLES, EXPECTED = parse_table(EXPECTED_TABLE)


@dataclass(frozen=True)
class ServiceCase:
    """How to call one writing service: build what it needs, call it, observe what it writes.

    ``observe`` returns a value that changes exactly when the write happens.
    """

    prepare: Callable[[], Any]
    call: Callable[[Any, User | None], object]
    observe: Callable[[Any], object]
    transactional: bool = False
    # A service that makes a change request needs its requester, so it has no call without one.
    needs_user: bool = False


# Registry inputs --------------------------------------------------------------------------


def version_terms(bill_to: BillToEntity) -> VersionTerms:
    return VersionTerms(
        effective_from=dt.date(2026, 1, 1),
        currency="EUR",
        cadence="monthly",
        billing_day=1,
        timezone="Europe/Berlin",
        bill_to_id=bill_to.pk,
        tax_category="S",
        tax_rate=D("19"),
        payment_terms_days=30,
        customer_po="PO-7781",
        escalation_contact="ops@northwind.example",
        sow_document_id=make_sow("SOW-MATRIX").pk,
        lines=[
            LineTerms(
                line_code="L1",
                kind="recurring_fixed",
                description="Managed service, monthly fee",
                unit_price=D("1000.00"),
                quantity=D("1"),
                gl_account="4000",
            )
        ],
    )


def contract_parts() -> tuple[Party, BillToEntity, SellerEntity]:
    make_gl_accounts()
    party, bill_to = make_customer("CUST-M")
    return party, bill_to, make_seller()


def contract_without_schedule() -> Contract:
    party, bill_to, seller = contract_parts()
    return contract_create(
        number="C-M",
        party=party,
        seller_entity=seller,
        contract_type="services",
        terms=version_terms(bill_to),
    )


def usage_contract() -> Contract:
    line = LineTerms(
        line_code="U1",
        kind="usage",
        description="API calls",
        unit_code="C62",
        unit_price=D("0.01"),
        quantity=D("1"),
        gl_account="4000",
    )
    return make_contract("C-U", lines=[line]).contract


def approved_amendment() -> Amendment:
    """An approved amendment raising the price from March, with its contract version.

    The approval is written directly, so that this matrix does not depend on how approval
    works; schedule_apply_amendment only needs the approved status and the version.
    """
    contract = make_contract("C-A").contract
    amendment = Amendment.objects.create(
        contract=contract,
        number="A-1",
        effective_from=dt.date(2026, 3, 1),
        changes={"lines": {"L1": {"unit_price": "1100.00"}}},
        status=Amendment.Status.APPROVED,
        approved_by="approver",
        approved_on=dt.date(2026, 2, 20),
    )
    current = contract.versions.prefetch_related("lines", "discounts", "price_changes").get()
    terms = terms_from_version(current)
    terms.effective_from = amendment.effective_from
    terms.lines[0].unit_price = D("1100.00")
    contract_version_create(contract=contract, terms=terms, amendment_id=amendment.pk)
    return amendment


def drafted_amendment() -> tuple[Amendment, Document]:
    contract = make_contract("C-S").contract
    amendment = amendment_draft(
        contract=contract,
        number="A-1",
        effective_from=dt.date(2026, 3, 1),
        changes={"payment_terms_days": 45},
    )
    return amendment, make_sow("AMENDMENT-A-1")


def schedule_lines(amendment: Amendment) -> list[tuple[object, ...]]:
    schedule = BillingSchedule.objects.get(contract_id=amendment.contract_id)
    return list(
        schedule.lines.order_by("pk").values_list("line_code", "unit_price", "effective_to")
    )


def vendor_party() -> Party:
    return Party.objects.create(code="VEND-M", kind="vendor", name="Contoso Hosting", country="US")


# Billing inputs ---------------------------------------------------------------------------


def issued_invoice() -> Invoice:
    make_contract()
    billing_run_execute(period=parse_period("2026-11"))
    return invoice_by_number("ADE-000001")


def unapplied_payment() -> tuple[Payment, Invoice]:
    invoice = issued_invoice()
    payment = Payment.objects.create(
        customer=invoice.contract.party,  # type: ignore[union-attr]
        received_on=dt.date(2026, 11, 20),
        currency="EUR",
        amount=D("100.00"),
        method="bank_transfer",
    )
    return payment, invoice


def open_dispute() -> Dispute:
    invoice = issued_invoice()
    return Dispute.objects.create(
        invoice=invoice, opened_on=dt.date(2026, 11, 5), reason="tax", amount=D("1.00")
    )


def dispute_state(dispute: Dispute) -> str:
    return Dispute.objects.get(pk=dispute.pk).status


def held_invoice() -> Invoice:
    make_contract(sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"))
    return exceptions_open().get()


# Pass-through inputs ----------------------------------------------------------------------


def unlinked_contract() -> tuple[Contract, PurchaseOrderLine]:
    contract = make_contract("C-PT").contract
    vendor = party_create(code="VEND-PT", kind="vendor", name="Ops Vendor GmbH", country="DE")
    order = PurchaseOrder.objects.create(
        number="PO-PT",
        vendor=vendor,
        seller_entity=SellerEntity.objects.get(),
        currency="EUR",
        ordered_on=dt.date(2026, 1, 5),
    )
    line = PurchaseOrderLine.objects.create(
        purchase_order=order,
        line_number=1,
        description="Operations, monthly",
        quantity=D("12"),
        unit_price=D("1000.00"),
    )
    return contract, line


def agreement_link() -> str:
    contract = make_contract("C-VA").contract
    vendor = party_create(code="VEND-VA", kind="vendor", name="Rates Vendor GmbH", country="DE")
    for revision in (1, 2):
        document_store(
            content=f"Vendor agreement revision {revision}".encode(),
            kind="vendor_agreement",
            family="VA-M",
            title="Vendor agreement",
        )
    cost_link_create(
        contract=contract,
        line_code="L1",
        basis="at_cost",
        vendor=vendor,
        vendor_document_family="VA-M",
        vendor_document_revision=1,
        agreed_cost=D("1000.00"),
    )
    return "VA-M"


def open_cost_change() -> CostChange:
    contract, line = unlinked_contract()
    link = cost_link_create(
        contract=contract, line_code="L1", basis="at_cost", vendor=line.purchase_order.vendor,
        po_line=line,
    )  # fmt: skip
    return CostChange.objects.create(
        link=link, source="po_amendment", reference="PO-PT rev 2", old_cost=D("1000.00"),
        new_cost=D("1080.00"),
    )  # fmt: skip


def applied_merge() -> PartyMerge:
    """A merge of two customers, requested and approved by users outside the table."""
    from billguard.controls.policy_yaml import policy_seed
    from tests.acting_users import make_user
    from tests.registry.merge_setup import Actors, duplicate_customers, merge_approved

    policy_seed()
    customers = duplicate_customers()
    people = Actors(
        maker=make_user("merge.maker", Role.FINANCE),
        checker=make_user("merge.checker", Role.FINANCE_APPROVER),
    )
    return merge_approved(customers.survivor, customers.merged, people)


def open_candidate() -> DuplicateCandidate:
    first, _ = make_customer("CUST-D1")
    second, _ = make_customer("CUST-D2")
    return DuplicateCandidate.objects.create(
        party=first, other_party=second, match_probability=Decimal("0.95"), reason="same name"
    )


def credit_notes() -> int:
    return Invoice.objects.filter(document_type=Invoice.DocumentType.CREDIT_NOTE).count()


# Procurement inputs ---------------------------------------------------------------------------

VENDOR_INVOICE_CSV = (
    "vendor,purchase_order,invoice_number,issue_date,currency,net_total,tax_total,gross_total,"
    "order_line,quantity,unit_price,line_net\n"
    "V-HOST,PO-1001,INV-77,2026-10-01,EUR,120.00,0,120.00,1,1,120.00,120.00\n"
)


def vendor_order() -> None:
    invoicing.make_order(invoicing.make_vendor())


def held_vendor_invoice() -> VendorInvoice:
    """A vendor invoice held by its payee account, recorded by the system, not a person."""
    invoicing.make_order(invoicing.make_vendor())
    return vendor_invoice_record(invoicing.invoice_input(payee_iban=invoicing.OTHER_IBAN), by=None)


def vendor_invoice_state(invoice: VendorInvoice) -> tuple[str, str]:
    stored = VendorInvoice.objects.get(pk=invoice.pk)
    return stored.status, stored.decided_by


def vendor_invoice_checks(invoice: VendorInvoice) -> int:
    from billguard.controls.models import AuditEntry

    return AuditEntry.objects.filter(
        action="vendor_invoice.check", record_id=str(invoice.pk)
    ).count()


def approved_order() -> PurchaseOrder:
    order = make_order()
    purchase_order_approve(order=order)
    return PurchaseOrder.objects.get(pk=order.pk)


def held_order() -> PurchaseOrder:
    approved_order()
    duplicate = make_order("PO-0002")
    purchase_order_approve(order=duplicate)
    return PurchaseOrder.objects.get(pk=duplicate.pk)


def order_state(order: PurchaseOrder) -> tuple[str, int]:
    current = PurchaseOrder.objects.get(pk=order.pk)
    return current.status, current.revision


def order_parts() -> Party:
    make_cost_accounts()
    make_seller()
    return make_vendor()


def vendor_with_documents() -> Party:
    vendor = Party.objects.create(code="VEND-M", kind="vendor", name="Contoso Ltd", country="GB")
    OnboardingItem.objects.create(
        vendor=vendor,
        requirement=OnboardingItem.Requirement.LEGAL_REVIEW,
        status=OnboardingItem.Status.DONE,
    )
    return vendor


SERVICES: dict[str, ServiceCase] = {
    "party_create": ServiceCase(
        prepare=lambda: None,
        call=lambda _, by: party_create(
            code="CUST-9", kind="customer", name="Fabrikam AG", country="DE", by=by
        ),
        observe=lambda _: Party.objects.count(),
    ),
    "bill_to_create": ServiceCase(
        prepare=lambda: make_customer("CUST-B")[0],
        call=lambda party, by: bill_to_create(
            party=party, code="CUST-B-BT2", name="Northwind Logistics", country="DE", by=by
        ),
        observe=lambda _: BillToEntity.objects.count(),
    ),
    "bill_to_archive": ServiceCase(
        prepare=lambda: make_customer("CUST-R")[1],
        call=lambda bill_to, by: bill_to_archive(bill_to=bill_to, by=by),
        observe=lambda bill_to: BillToEntity.objects.get(pk=bill_to.pk).archived_at is None,
    ),
    "seller_entity_create": ServiceCase(
        prepare=lambda: None,
        call=lambda _, by: seller_entity_create(
            code="acme-de-2",
            name="Acme Services Zwei GmbH",
            country="DE",
            vat_id="DE136695976",
            invoice_prefix="AD2-",
            by=by,
        ),
        observe=lambda _: SellerEntity.objects.count(),
    ),
    "gl_account_create": ServiceCase(
        prepare=lambda: None,
        call=lambda _, by: gl_account_create(code="4200", name="Licence revenue", by=by),
        observe=lambda _: GLAccount.objects.count(),
    ),
    "chart_of_accounts_import": ServiceCase(
        prepare=lambda: None,
        call=lambda _, by: chart_of_accounts_import(
            content="code,name,kind\n4200,Licence revenue,revenue\n", source="coa.csv", by=by
        ),
        observe=lambda _: GLAccount.objects.count(),
    ),
    "contract_create": ServiceCase(
        prepare=contract_parts,
        call=lambda parts, by: contract_create(
            number="C-N",
            party=parts[0],
            seller_entity=parts[2],
            contract_type="services",
            terms=version_terms(parts[1]),
            by=by,
        ),
        observe=lambda _: Contract.objects.count(),
    ),
    "schedule_create_from_version": ServiceCase(
        prepare=contract_without_schedule,
        call=lambda contract, by: schedule_create_from_version(
            contract=contract,
            version=contract.versions.get(),
            starts_on=dt.date(2026, 1, 1),
            by=by,
        ),
        observe=lambda _: BillingSchedule.objects.count(),
    ),
    "schedule_apply_amendment": ServiceCase(
        prepare=approved_amendment,
        call=lambda amendment, by: schedule_apply_amendment(amendment=amendment, by=by),
        observe=schedule_lines,
    ),
    "document_store": ServiceCase(
        prepare=lambda: None,
        call=lambda _, by: document_store(
            content=b"Rate card 2026", kind="rate_card", family="RC-2026", title="Rate card", by=by
        ),
        observe=lambda _: Document.objects.count(),
    ),
    "usage_record_add": ServiceCase(
        prepare=usage_contract,
        call=lambda contract, by: usage_record_add(
            contract=contract,
            line_code="U1",
            service_date=dt.date(2026, 10, 3),
            quantity=D("1200"),
            external_id="usage-1",
            by=by,
        ),
        observe=lambda _: UsageRecord.objects.count(),
    ),
    "timesheet_add": ServiceCase(
        prepare=lambda: make_contract("C-T").contract,
        call=lambda contract, by: timesheet_add(
            contract=contract,
            line_code="L1",
            work_date=dt.date(2026, 10, 5),
            hours=D("7.5"),
            person="Kim Consultant",
            external_id="ts-1",
            by=by,
        ),
        observe=lambda _: Timesheet.objects.count(),
    ),
    "milestone_accept": ServiceCase(
        prepare=lambda: make_contract("C-MS").contract,
        call=lambda contract, by: milestone_accept(
            contract=contract,
            line_code="L1",
            accepted_on=dt.date(2026, 10, 20),
            accepted_by="Jane Buyer",
            by=by,
        ),
        observe=lambda _: MilestoneAcceptance.objects.count(),
    ),
    "amendment_draft": ServiceCase(
        prepare=lambda: make_contract("C-D").contract,
        call=lambda contract, by: amendment_draft(
            contract=contract,
            number="A-1",
            effective_from=dt.date(2026, 3, 1),
            changes={"payment_terms_days": 45},
            by=by,
        ),
        observe=lambda _: Amendment.objects.count(),
    ),
    "amendment_sign": ServiceCase(
        prepare=drafted_amendment,
        call=lambda pair, by: amendment_sign(
            amendment=pair[0], document=pair[1], signed_on=dt.date(2026, 2, 10), by=by
        ),
        observe=lambda pair: Amendment.objects.get(pk=pair[0].pk).status,
    ),
    "billing_run_execute": ServiceCase(
        prepare=lambda: make_contract(),
        call=lambda _, by: billing_run_execute(period=parse_period("2026-11"), by=by),
        observe=lambda _: (BillingRun.objects.count(), Invoice.objects.count()),
        transactional=True,
    ),
    "credit_note_issue": ServiceCase(
        prepare=issued_invoice,
        call=lambda invoice, by: credit_note_issue(
            invoice=invoice, reason="Billed twice", issue_date=dt.date(2026, 11, 20), by=by
        ),
        observe=lambda _: credit_notes(),
        transactional=True,
    ),
    "exception_resolve": ServiceCase(
        prepare=held_invoice,
        call=lambda held, by: exception_resolve(invoice_id=held.pk, note="Tried again", by=by),
        observe=lambda _: ExceptionResolution.objects.count(),
        transactional=True,
    ),
    "duplicates_scan": ServiceCase(
        prepare=lambda: (make_customer("CUST-D1"), make_customer("CUST-D2")),
        call=lambda _, by: duplicates_scan(kind="customer", by=by),
        observe=lambda _: DuplicateCandidate.objects.count(),
    ),
    "duplicate_candidate_dismiss": ServiceCase(
        prepare=open_candidate,
        call=lambda candidate, by: duplicate_candidate_dismiss(
            candidate_id=candidate.pk, reason="Two companies of one group", by=by
        ),
        observe=lambda candidate: DuplicateCandidate.objects.get(pk=candidate.pk).status,
    ),
    "purchase_order_create": ServiceCase(
        prepare=order_parts,
        call=lambda vendor, by: purchase_order_create(
            number="PO-0100",
            vendor=vendor,
            seller_entity=make_seller(),
            currency="EUR",
            ordered_on=dt.date(2026, 10, 1),
            lines=[hosting_line()],
            by=by,
        ),
        observe=lambda _: PurchaseOrder.objects.count(),
    ),
    "purchase_order_approve": ServiceCase(
        prepare=make_order,
        call=lambda order, by: purchase_order_approve(order=order, by=by),
        observe=order_state,
    ),
    "purchase_order_recheck": ServiceCase(
        prepare=held_order,
        call=lambda order, by: purchase_order_recheck(order=order, by=by),
        observe=lambda order: list(order.findings.values_list("pk", flat=True)),
    ),
    "purchase_order_amend": ServiceCase(
        prepare=approved_order,
        call=lambda order, by: purchase_order_amend(
            order=order, line_number=1, unit_price=D("125.00"), reason="New rate", by=by
        ),
        observe=order_state,
    ),
    "purchase_order_close": ServiceCase(
        prepare=approved_order,
        call=lambda order, by: purchase_order_close(order=order, by=by),
        observe=order_state,
    ),
    "receipt_record": ServiceCase(
        prepare=approved_order,
        call=lambda order, by: receipt_record(
            order=order, line_number=1, quantity=D(4), received_on=dt.date(2026, 10, 5), by=by
        ),
        observe=lambda _: Receipt.objects.count(),
    ),
    "match_tolerance_set": ServiceCase(
        prepare=lambda: None,
        call=lambda _, by: match_tolerance_set(unit_price_percent=D(2), by=by),
        observe=lambda _: MatchTolerance.objects.count(),
    ),
    "vendor_invoice_record": ServiceCase(
        prepare=vendor_order,
        call=lambda _, by: vendor_invoice_record(invoicing.invoice_input(), by=by),
        observe=lambda _: VendorInvoice.objects.count(),
    ),
    "vendor_invoices_import": ServiceCase(
        prepare=vendor_order,
        call=lambda _, by: vendor_invoices_import(
            content=VENDOR_INVOICE_CSV.encode(), source="matrix.csv", by=by
        ),
        observe=lambda _: VendorInvoice.objects.count(),
    ),
    "vendor_invoice_recheck": ServiceCase(
        prepare=held_vendor_invoice,
        call=lambda invoice, by: vendor_invoice_recheck(invoice_id=invoice.pk, by=by),
        observe=vendor_invoice_checks,
    ),
    "vendor_invoices_recheck_held": ServiceCase(
        prepare=held_vendor_invoice,
        call=lambda _, by: vendor_invoices_recheck_held(by=by),
        observe=vendor_invoice_checks,
    ),
    "vendor_invoice_approve": ServiceCase(
        prepare=held_vendor_invoice,
        call=lambda invoice, by: vendor_invoice_approve(
            invoice_id=invoice.pk, reason="Account confirmed with the vendor", by=by
        ),
        observe=vendor_invoice_state,
    ),
    "purchase_order_approve_held": ServiceCase(
        prepare=held_order,
        call=lambda order, by: purchase_order_approve_held(
            order=order, reason="Second order for the same capacity, confirmed", by=by
        ),
        observe=order_state,
    ),
    "purchase_order_reject": ServiceCase(
        prepare=held_order,
        call=lambda order, by: purchase_order_reject(
            order=order, reason="Duplicate of PO-0001", by=by
        ),
        observe=order_state,
    ),
    "vendor_invoice_reject": ServiceCase(
        prepare=held_vendor_invoice,
        call=lambda invoice, by: vendor_invoice_reject(
            invoice_id=invoice.pk, reason="Account not confirmed", by=by
        ),
        observe=vendor_invoice_state,
    ),
    "vendor_scores_compute": ServiceCase(
        prepare=vendor_with_documents,
        call=lambda vendor, by: vendor_scores_compute(period="2026-11", vendor=vendor, by=by),
        observe=lambda _: VendorScore.objects.count(),
    ),
    "vendor_profile_set": ServiceCase(
        prepare=vendor_party,
        call=lambda vendor, by: vendor_profile_set(vendor=vendor, payment_terms_days=30, by=by),
        observe=lambda _: VendorProfile.objects.count(),
    ),
    "vendor_item_record": ServiceCase(
        prepare=vendor_party,
        call=lambda vendor, by: vendor_item_record(
            vendor=vendor, requirement="legal_review", by=by
        ),
        observe=lambda _: OnboardingItem.objects.count(),
    ),
    "vendor_certification_record": ServiceCase(
        prepare=vendor_party,
        call=lambda vendor, by: vendor_certification_record(
            vendor=vendor, kind="sustainability", name="ISO 14001", by=by
        ),
        observe=lambda _: VendorCertification.objects.count(),
    ),
    "cost_link_create": ServiceCase(
        prepare=unlinked_contract,
        call=lambda pair, by: cost_link_create(
            contract=pair[0],
            line_code="L1",
            basis="at_cost",
            vendor=pair[1].purchase_order.vendor,
            po_line=pair[1],
            by=by,
        ),
        observe=lambda _: CostLink.objects.count(),
    ),
    "cost_link_agreement_revision": ServiceCase(
        prepare=agreement_link,
        call=lambda family, by: cost_link_agreement_revision(
            family=family, unit_cost=D("1040.00"), by=by
        ),
        observe=lambda _: CostChange.objects.count(),
    ),
    "cost_change_approve_difference": ServiceCase(
        prepare=open_cost_change,
        call=lambda change, by: cost_change_approve_difference(
            change_id=change.pk, reason="Difference absorbed", by=by
        ),
        observe=lambda _: ChangeRequest.objects.count(),
        needs_user=True,
    ),
    "payment_record": ServiceCase(
        prepare=issued_invoice,
        call=lambda invoice, by: payment_record(
            data=PaymentInput(
                customer=invoice.contract.party,
                received_on=dt.date(2026, 11, 20),
                currency="EUR",
                amount=D("1190.00"),
                reference=str(invoice.number),
            ),
            by=by,  # type: ignore[arg-type]
            today=dt.date(2026, 12, 31),
        ),
        observe=lambda _: Payment.objects.count(),
        needs_user=True,
    ),
    "payment_allocate": ServiceCase(
        prepare=unapplied_payment,
        call=lambda pair, by: payment_allocate(
            payment=pair[0],
            invoice=pair[1],
            amount=D("100.00"),
            by=by,  # type: ignore[arg-type]
        ),
        observe=lambda pair: PaymentAllocation.objects.filter(payment=pair[0]).count(),
        needs_user=True,
    ),
    "dispute_open": ServiceCase(
        prepare=issued_invoice,
        call=lambda invoice, by: dispute_open(
            invoice=invoice,
            opened_on=dt.date(2026, 11, 5),
            reason="wrong_price",
            amount=D("100.00"),
            by=by,  # type: ignore[arg-type]
        ),
        observe=lambda _: Dispute.objects.count(),
        needs_user=True,
    ),
    "dispute_reject": ServiceCase(
        prepare=open_dispute,
        call=lambda dispute, by: dispute_reject(dispute=dispute, note="Tax is right", by=by),  # type: ignore[arg-type]
        observe=dispute_state,
        needs_user=True,
    ),
    "dispute_resolve": ServiceCase(
        prepare=open_dispute,
        call=lambda dispute, by: dispute_resolve(
            dispute=dispute,
            reissue=False,
            note="Credited",
            issue_date=dt.date(2026, 11, 20),
            by=by,  # type: ignore[arg-type]
        ),
        observe=dispute_state,
        needs_user=True,
    ),
    "party_merge_undo": ServiceCase(
        prepare=applied_merge,
        call=lambda merge, by: party_merge_undo(
            merge_id=merge.pk, by=by, reason="Two entities of one group"
        ),
        observe=lambda merge: PartyMerge.objects.get(pk=merge.pk).undone_at is None,
    ),
}

CELLS = [(service, role) for service in EXPECTED for role in TABLE_ROLES]


def user_with(username: str, *roles: str, active: bool = True) -> User:
    user = User.objects.create_user(username=username, is_active=active)
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


def case_marks(service: str) -> list[pytest.MarkDecorator]:
    return [pytest.mark.django_db(transaction=SERVICES[service].transactional)]


def cell_params() -> list[Any]:
    return [
        pytest.param(service, role, id=f"{service}-{role}", marks=case_marks(service))
        for service, role in CELLS
    ]


def service_params() -> list[Any]:
    return [pytest.param(service, id=service, marks=case_marks(service)) for service in EXPECTED]


def assert_allowed(service: str, by: User) -> None:
    case = SERVICES[service]
    subject = case.prepare()
    before = case.observe(subject)

    case.call(subject, by)

    assert case.observe(subject) != before, f"{service} by {by} wrote nothing"


def assert_refused(service: str, by: User) -> None:
    case = SERVICES[service]
    subject = case.prepare()
    before = case.observe(subject)

    with pytest.raises(NotAllowed) as refused:
        case.call(subject, by)

    assert by.get_username() in str(refused.value)
    assert case.observe(subject) == before, f"{service} by {by} wrote despite the refusal"


def test_table_names_every_role_and_service():
    assert set(TABLE_ROLES) == set(Role.values)
    assert set(EXPECTED) == set(SERVICES)


@pytest.mark.parametrize(("service", "role"), cell_params())
def test_role_calls_service(service, role):
    roles_install()
    user = user_with(f"{role}.user", role)

    if EXPECTED[service][role]:
        assert_allowed(service, user)
    else:
        assert_refused(service, user)


@pytest.mark.parametrize("service", service_params())
def test_user_without_role_is_refused(service):
    roles_install()

    assert_refused(service, user_with("nobody"))


@pytest.mark.parametrize("service", service_params())
def test_inactive_administrator_is_refused(service):
    roles_install()

    assert_refused(service, user_with("former.admin", Role.ADMINISTRATOR, active=False))


@pytest.mark.parametrize(
    "service",
    [param for param in service_params() if not SERVICES[param.values[0]].needs_user],
)
def test_service_without_user_still_writes(service):
    case = SERVICES[service]
    subject = case.prepare()
    before = case.observe(subject)

    case.call(subject, None)

    assert case.observe(subject) != before


@pytest.mark.django_db
def test_audit_names_acting_user():
    from billguard.controls.models import AuditEntry

    roles_install()
    sales = user_with("sam.sales", Role.SALES)
    party, bill_to, seller = contract_parts()

    contract = contract_create(
        number="C-AUD",
        party=party,
        seller_entity=seller,
        contract_type="services",
        terms=version_terms(bill_to),
        by=sales,
    )

    entry = AuditEntry.objects.get(action="contract.create", record_id=str(contract.pk))
    assert entry.actor == "sam.sales"


@pytest.mark.django_db
def test_roles_install_is_idempotent():
    first = {group.name: set(group.permissions.all()) for group in roles_install()}
    permission_count = Permission.objects.count()
    extra = Permission.objects.get(codename="action_billing_run")
    Group.objects.get(name=Role.AUDITOR).permissions.add(extra)

    second = {group.name: set(group.permissions.all()) for group in roles_install()}

    assert second == first
    assert Permission.objects.count() == permission_count
    assert Group.objects.filter(name__in=Role.values).count() == len(Role)
    assert extra not in Group.objects.get(name=Role.AUDITOR).permissions.all()
