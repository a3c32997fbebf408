"""Writing the planned book to the database through the registry services.

Parties, contracts, documents, schedules and amendments go through the services one by one,
so they are validated exactly as user input is. Usage records, timesheets, acceptances and
purchase orders are bulk-inserted after the same field validation, because there are
thousands of them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from billguard.exports.sample import sample_mappings_create
from billguard.procurement.models import PurchaseOrder, PurchaseOrderLine
from billguard.registry.models import (
    BillToEntity,
    Contract,
    Document,
    MilestoneAcceptance,
    Party,
    PriceList,
    PriceListItem,
    SellerEntity,
    Timesheet,
    UsageRecord,
)
from billguard.registry.services.amendments import (
    amendment_approve,
    amendment_draft,
    amendment_sign,
)
from billguard.registry.services.contracts import contract_activate, contract_create
from billguard.registry.services.documents import document_store
from billguard.registry.services.entities import gl_account_create, seller_entity_create
from billguard.registry.services.parties import bill_to_create, party_create
from billguard.registry.services.schedules import (
    schedule_apply_amendment,
    schedule_create_from_version,
)
from billguard.registry.validation import require_positive, require_text
from billguard.sample.onboarding import onboard_sample_vendors
from billguard.sample.orders import write_order_details
from billguard.sample.pass_through import write_cost_links
from billguard.sample.pdf import text_pdf
from billguard.sample.plans import AmendmentPlan, Book, ContractPlan
from billguard.sample.price_lists import PRICE_LIST_CODE, price_list_items
from billguard.sample.templates import with_standard_clauses, write_templates
from billguard.sample.vendor_invoices import write_vendor_invoices

SELLER_CODES = {"de": "sample-de", "us": "sample-us"}

CHART_OF_ACCOUNTS = (
    ("1200", "Trade receivables", "receivable", False),
    ("2200", "VAT and sales tax payable", "tax", False),
    ("4000", "Subscription revenue", "revenue", False),
    ("4100", "Professional services revenue", "revenue", False),
    ("4200", "Usage revenue", "revenue", False),
    ("4300", "Project milestone revenue", "revenue", False),
    ("4900", "Revenue, legacy system (closed at migration)", "revenue", True),
    ("5000", "Subcontractor costs", "other", False),
    ("5100", "Hosting and cloud costs", "other", False),
    ("6000", "Software licences", "other", False),
)


@dataclass
class WrittenCompany:
    sellers: dict[str, SellerEntity]
    parties: dict[str, Party] = field(default_factory=dict)
    bill_tos: dict[str, BillToEntity] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)


def write_book(book: Book) -> WrittenCompany:
    """Write sellers, accounts, price lists, parties, contracts and activity of ``book``."""
    company = WrittenCompany(sellers=write_sellers())
    write_chart_of_accounts()
    sample_mappings_create()
    write_templates()
    price_lists = write_price_lists()
    write_customers(book, company)
    for plan in book.contracts:
        company.contracts[plan.number] = write_contract(plan, company, price_lists)
    write_activity(book, company)
    write_vendors_and_orders(book, company)
    onboard_sample_vendors(book)
    write_order_details()
    write_vendor_invoices()
    write_cost_links(book, company)
    return company


def write_sellers() -> dict[str, SellerEntity]:
    german = seller_entity_create(
        code=SELLER_CODES["de"],
        name="Brightline Services GmbH",
        country="DE",
        vat_id="DE136695976",
        invoice_prefix="BLD-",
        street="Torstrasse 49",
        city="Berlin",
        postcode="10119",
        registration_id="HRB 204518 B, Amtsgericht Charlottenburg",
        email="billing@brightline-services.example",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
    )
    american = seller_entity_create(
        code=SELLER_CODES["us"],
        name="Brightline Services Inc.",
        country="US",
        vat_id="46-4210951",
        invoice_prefix="BLU-",
        street="200 Congress Avenue",
        city="Austin",
        postcode="78701",
        registration_id="Delaware file number 7741025",
        email="billing@brightline-services.example",
    )
    return {"de": german, "us": american}


def write_chart_of_accounts() -> None:
    for code, name, kind, closed in CHART_OF_ACCOUNTS:
        account = gl_account_create(code=code, name=name, kind=kind)
        if closed:
            account.is_closed = True
            account.save(update_fields=["is_closed"])


def write_price_lists() -> dict[str, PriceList]:
    price_lists = {}
    for market, code in PRICE_LIST_CODE.items():
        currency = "EUR" if market == "de" else "USD"
        price_list = PriceList.objects.create(
            code=code, name=f"Standard usage prices {currency}", currency=currency
        )
        PriceListItem.objects.bulk_create(
            PriceListItem(
                price_list=price_list,
                product_code=product,
                unit_price=price,
                valid_from=valid_from,
                valid_to=valid_to,
            )
            for product, price, valid_from, valid_to in price_list_items(market)
        )
        price_lists[code] = price_list
    return price_lists


def write_customers(book: Book, company: WrittenCompany) -> None:
    for customer in book.customers:
        party = party_create(
            code=customer.code,
            kind=Party.Kind.CUSTOMER,
            name=customer.name,
            country=customer.country,
            tax_id=customer.tax_id,
            postcode=customer.postcode,
        )
        company.parties[customer.code] = party
        for bill_to in customer.bill_tos:
            company.bill_tos[bill_to.code] = bill_to_create(
                party=party,
                code=bill_to.code,
                name=bill_to.name,
                country=bill_to.country,
                tax_id=bill_to.tax_id,
                street=bill_to.street,
                city=bill_to.city,
                postcode=bill_to.postcode,
                subdivision=bill_to.subdivision,
                contact_name=bill_to.contact_name,
                contact_email=bill_to.contact_email,
            )


def write_contract(
    plan: ContractPlan, company: WrittenCompany, price_lists: dict[str, PriceList]
) -> Contract:
    """Create the contract, its SOW, schedule and amendments as the registry services do."""
    sow = None
    if plan.sow_signed_on is not None:
        sow = _store_sow(plan, revision_note="signed scope and rates")
    terms = with_standard_clauses(
        dataclasses.replace(
            plan.terms,
            bill_to_id=company.bill_tos[plan.bill_to.code].pk,
            price_list_id=price_lists[plan.price_list_code].pk if plan.price_list_code else None,
            sow_document_id=sow.pk if sow else None,
        ),
        plan.contract_type,
    )
    contract = contract_create(
        number=plan.number,
        party=company.parties[plan.customer.code],
        seller_entity=company.sellers[plan.seller],
        contract_type=plan.contract_type,
        terms=terms,
        title=plan.title,
        imported=plan.activation == "imported",
    )
    if plan.activation == "gate":
        contract_activate(contract=contract)
    if plan.schedule_starts_on is not None:
        _write_schedule(plan, contract)
    for amendment in plan.amendments:
        _write_amendment(plan, amendment, contract, company)
    return contract


def _write_schedule(plan: ContractPlan, contract: Contract) -> None:
    assert plan.schedule_starts_on is not None
    version = contract.versions.prefetch_related("lines", "discounts", "price_changes").get()
    schedule_create_from_version(
        contract=contract,
        version=version,
        starts_on=plan.schedule_starts_on,
        source=plan.schedule_source,
        milestone_dates={m.line_code: m.bill_on for m in plan.milestones},
        follow_price_changes=plan.apply_price_changes,
    )


def _write_amendment(
    plan: ContractPlan, amendment: AmendmentPlan, contract: Contract, company: WrittenCompany
) -> None:
    """Draft, sign and approve an amendment as far as its plan says, then apply it."""
    changes = dict(amendment.changes)
    if amendment.new_sow_revision:
        changes["sow_document_id"] = _store_sow(plan, revision_note=amendment.description).pk
    if amendment.bill_to_index is not None:
        bill_to = plan.customer.bill_tos[amendment.bill_to_index]
        changes["bill_to_id"] = company.bill_tos[bill_to.code].pk
    record = amendment_draft(
        contract=contract,
        number=amendment.number,
        effective_from=amendment.effective_from,
        changes=changes,
        description=amendment.description,
    )
    if amendment.status == "drafted":
        return

    assert amendment.signed_on is not None
    document = document_store(
        content=text_pdf(
            f"Amendment {amendment.number} to contract {plan.number}: "
            f"{amendment.description}, effective {amendment.effective_from}."
        ),
        kind=Document.Kind.AMENDMENT,
        family=f"{plan.number}-{amendment.number}",
        title=f"Amendment {amendment.number} to {plan.number}",
        file_name=f"{plan.number}-{amendment.number}.pdf",
        signed_on=amendment.signed_on,
        signer=plan.bill_to.contact_name,
    )
    amendment_sign(amendment=record, document=document, signed_on=amendment.signed_on)
    if amendment.status == "signed":
        return

    assert amendment.approved_on is not None
    amendment_approve(
        amendment=record, approved_by="Head of Finance", approved_on=amendment.approved_on
    )
    if amendment.apply_to_schedule and plan.schedule_starts_on is not None:
        record.refresh_from_db()
        schedule_apply_amendment(amendment=record)


def _store_sow(plan: ContractPlan, *, revision_note: str) -> Document:
    family = f"SOW-{plan.number}"
    revision = Document.objects.filter(family=family).count() + 1
    signed_on = plan.sow_signed_on
    if revision > 1:
        signed_on = next(a.signed_on for a in plan.amendments if a.new_sow_revision)
    return document_store(
        content=text_pdf(
            f"Statement of work for contract {plan.number}, {plan.title}, revision "
            f"{revision}: {revision_note}.\nCustomer: {plan.customer.name}\n"
        ),
        kind=Document.Kind.SOW,
        family=family,
        title=f"SOW {plan.title}",
        file_name=f"{family}-rev{revision}.pdf",
        signed_on=signed_on,
        signer=plan.bill_to.contact_name,
    )


def write_activity(book: Book, company: WrittenCompany) -> None:
    """Bulk-insert usage records, timesheets and milestone acceptances, validated per row."""
    usage, timesheets, acceptances = [], [], []
    for plan in book.contracts:
        contract = company.contracts[plan.number]
        for index, row in enumerate(plan.usage, start=1):
            require_positive(row.quantity, field="quantity", allow_zero=True)
            usage.append(
                UsageRecord(
                    contract=contract,
                    line_code=row.line_code,
                    service_date=row.service_date,
                    quantity=row.quantity,
                    external_id=f"{plan.number}-U{index:04d}",
                )
            )
        for index, sheet in enumerate(plan.timesheets, start=1):
            require_text(sheet.person, field="person")
            require_positive(sheet.hours, field="hours")
            timesheets.append(
                Timesheet(
                    contract=contract,
                    line_code=sheet.line_code,
                    work_date=sheet.work_date,
                    hours=sheet.hours,
                    person=sheet.person,
                    external_id=f"{plan.number}-T{index:04d}",
                )
            )
        for milestone in plan.milestones:
            if milestone.accepted_on is not None:
                acceptances.append(
                    MilestoneAcceptance(
                        contract=contract,
                        line_code=milestone.line_code,
                        accepted_on=milestone.accepted_on,
                        accepted_by=plan.bill_to.contact_name,
                    )
                )
    UsageRecord.objects.bulk_create(usage, batch_size=2000)
    Timesheet.objects.bulk_create(timesheets, batch_size=2000)
    MilestoneAcceptance.objects.bulk_create(acceptances, batch_size=2000)


def write_vendors_and_orders(book: Book, company: WrittenCompany) -> None:
    vendors = [
        party_create(
            code=vendor.code,
            kind=Party.Kind.VENDOR,
            name=vendor.name,
            country=vendor.country,
            tax_id=vendor.tax_id,
            postcode=vendor.postcode,
        )
        for vendor in book.vendors
    ]
    orders = [
        PurchaseOrder(
            number=order.number,
            vendor=vendors[order.vendor_index],
            seller_entity=company.sellers[order.market],
            currency="EUR" if order.market == "de" else "USD",
            ordered_on=order.ordered_on,
            status=order.status,
        )
        for order in book.purchase_orders
    ]
    PurchaseOrder.objects.bulk_create(orders)
    lines = []
    for order, plan in zip(orders, book.purchase_orders, strict=True):
        for number, (description, quantity, unit_price, gl_account) in enumerate(plan.lines, 1):
            require_positive(quantity, field="quantity")
            require_positive(unit_price, field="unit_price", allow_zero=True)
            lines.append(
                PurchaseOrderLine(
                    purchase_order=order,
                    line_number=number,
                    description=description,
                    quantity=quantity,
                    unit_price=unit_price,
                    gl_account=gl_account,
                )
            )
    PurchaseOrderLine.objects.bulk_create(lines)
