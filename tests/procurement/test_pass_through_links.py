"""cost_link_create: the contract line, the vendor, the order line and the basis rules."""

import datetime as dt
from decimal import Decimal

import pytest

from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound, RuleViolation
from billguard.procurement.models import CostLink, PurchaseOrderLine
from billguard.procurement.passthrough import cost_link_create, cost_links_list
from billguard.registry.models import Document, Party
from billguard.registry.services.documents import document_store
from billguard.registry.terms import LineTerms
from billguard.sample.pdf import text_pdf
from tests.acting_users import make_user
from tests.factories import make_contract, make_customer
from tests.procurement.passthrough_setup import (
    MARGIN,
    PLUS_COST,
    PRICE,
    linked_at_cost,
    linked_cost_plus,
    make_order_line,
    make_vendor,
    monthly_line,
)

pytestmark = pytest.mark.django_db

D = Decimal


def test_at_cost_link_records_cost_and_audit():
    pat = make_user("pat", "procurement")

    linked = linked_at_cost(by=pat)

    link = CostLink.objects.get()
    assert link.agreed_cost == PRICE
    assert link.basis == "at_cost"
    assert link.created_by == "pat"
    entry = AuditEntry.objects.get(action="cost_link.create")
    assert entry.actor == "pat"
    assert entry.after["contract"] == linked.contract.number


def test_cost_plus_link_accepts_price_of_cost_and_margin():
    linked = linked_cost_plus()

    assert linked.link.margin_percent == MARGIN
    assert linked.link.agreed_cost == PLUS_COST


def test_cost_plus_margin_rounds_to_four_decimals():
    contract = make_contract(lines=[monthly_line(D("123.4568"))]).contract
    vendor = make_vendor()
    # 98.76543 x 1.25 = 123.4567875, which rounds half up to 123.4568.
    po_line = make_order_line(vendor, D("98.76543"))

    link = cost_link_create(
        contract=contract,
        line_code="L1",
        basis="cost_plus",
        vendor=vendor,
        po_line=po_line,
        margin_percent=D("25"),
    )

    assert link.pk is not None


def test_at_cost_price_differing_from_cost_is_refused():
    contract = make_contract(lines=[monthly_line(D("1050.00"))]).contract
    vendor = make_vendor()
    po_line = make_order_line(vendor, PRICE)

    with pytest.raises(RuleViolation) as refused:
        cost_link_create(
            contract=contract, line_code="L1", basis="at_cost", vendor=vendor, po_line=po_line
        )

    assert "1050.00" in str(refused.value)
    assert "1000.00" in str(refused.value)
    assert not CostLink.objects.exists()


def test_cost_plus_price_off_by_margin_is_refused():
    contract = make_contract(lines=[monthly_line()]).contract
    vendor = make_vendor()
    po_line = make_order_line(vendor, PLUS_COST)

    with pytest.raises(RuleViolation) as refused:
        cost_link_create(
            contract=contract,
            line_code="L1",
            basis="cost_plus",
            vendor=vendor,
            po_line=po_line,
            margin_percent=D("20"),
        )

    assert "960.00" in str(refused.value)


def test_cost_plus_without_margin_is_refused():
    contract = make_contract(lines=[monthly_line()]).contract
    vendor = make_vendor()

    with pytest.raises(InvalidInput) as refused:
        cost_link_create(
            contract=contract,
            line_code="L1",
            basis="cost_plus",
            vendor=vendor,
            po_line=make_order_line(vendor, PLUS_COST),
        )

    assert refused.value.place == "--margin"


def test_margin_on_at_cost_link_is_refused():
    contract = make_contract(lines=[monthly_line()]).contract
    vendor = make_vendor()

    with pytest.raises(InvalidInput) as refused:
        cost_link_create(
            contract=contract,
            line_code="L1",
            basis="at_cost",
            vendor=vendor,
            po_line=make_order_line(vendor, PRICE),
            margin_percent=D("5"),
        )

    assert refused.value.place == "--margin"


def test_unknown_line_code_names_the_current_lines():
    contract = make_contract(lines=[monthly_line()]).contract
    vendor = make_vendor()

    with pytest.raises(InvalidInput) as refused:
        cost_link_create(
            contract=contract,
            line_code="L9",
            basis="at_cost",
            vendor=vendor,
            po_line=make_order_line(vendor, PRICE),
        )

    assert refused.value.place == "LINE_CODE"
    assert "L1" in str(refused.value)


def test_customer_party_as_vendor_is_refused():
    contract = make_contract(lines=[monthly_line()]).contract
    customer = Party.objects.get(code="CUST-1")

    with pytest.raises(InvalidInput) as refused:
        cost_link_create(
            contract=contract,
            line_code="L1",
            basis="at_cost",
            vendor=customer,
            po_line=make_order_line(make_vendor(), PRICE),
        )

    assert refused.value.place == "--vendor"
    assert "customer" in str(refused.value)


def test_order_line_of_another_vendor_is_refused():
    contract = make_contract(lines=[monthly_line()]).contract
    other_line = make_order_line(make_vendor("VEND-2"), PRICE)

    with pytest.raises(InvalidInput) as refused:
        cost_link_create(
            contract=contract,
            line_code="L1",
            basis="at_cost",
            vendor=make_vendor("VEND-1"),
            po_line=other_line,
        )

    assert refused.value.place == "--order-line"
    assert "VEND-1" in str(refused.value)


def test_order_in_other_currency_is_refused():
    contract = make_contract(lines=[monthly_line()]).contract
    vendor = make_vendor()

    with pytest.raises(InvalidInput) as refused:
        cost_link_create(
            contract=contract,
            line_code="L1",
            basis="at_cost",
            vendor=vendor,
            po_line=make_order_line(vendor, PRICE, currency="USD"),
        )

    assert "USD" in str(refused.value)


def test_no_vendor_cost_is_refused():
    contract = make_contract(lines=[monthly_line()]).contract

    with pytest.raises(InvalidInput) as refused:
        cost_link_create(contract=contract, line_code="L1", basis="at_cost", vendor=make_vendor())

    assert refused.value.place == "--order-line"


def test_second_link_on_same_line_is_refused():
    linked = linked_at_cost()

    with pytest.raises(RuleViolation):
        cost_link_create(
            contract=linked.contract,
            line_code="L1",
            basis="at_cost",
            vendor=linked.vendor,
            po_line=make_order_line(linked.vendor, PRICE, number="PO-X"),
        )

    assert CostLink.objects.count() == 1


def test_line_of_superseded_version_only_is_refused():
    contract = make_contract(lines=[monthly_line(), monthly_line(code="L2")]).contract
    from billguard.registry.services.contracts import contract_version_create
    from billguard.registry.terms import terms_from_version

    terms = terms_from_version(contract.versions.get())
    terms.effective_from = dt.date(2026, 6, 1)
    terms.lines = [line for line in terms.lines if line.line_code == "L1"]
    contract_version_create(contract=contract, terms=terms)
    vendor = make_vendor()

    with pytest.raises(InvalidInput) as refused:
        cost_link_create(
            contract=contract,
            line_code="L2",
            basis="at_cost",
            vendor=vendor,
            po_line=make_order_line(vendor, PRICE),
        )

    assert "version 2" in str(refused.value)


def test_milestone_link_needs_milestone_lines():
    milestone = LineTerms(
        line_code="M1",
        kind="milestone",
        description="Go-live",
        unit_price=D("5000.00"),
        quantity=D("1"),
        gl_account="4000",
    )
    contract = make_contract(lines=[milestone]).contract
    vendor = make_vendor()
    service_line = make_order_line(vendor, D("3000.00"))
    milestone_line = make_order_line(
        vendor, D("3000.00"), number="PO-M", kind=PurchaseOrderLine.Kind.MILESTONE
    )

    with pytest.raises(InvalidInput) as refused:
        cost_link_create(
            contract=contract,
            line_code="M1",
            basis="milestone",
            vendor=vendor,
            po_line=service_line,
        )
    link = cost_link_create(
        contract=contract, line_code="M1", basis="milestone", vendor=vendor, po_line=milestone_line
    )

    assert refused.value.place == "--order-line"
    assert link.agreed_cost == D("3000.00")


def test_milestone_basis_on_fixed_line_is_refused():
    contract = make_contract(lines=[monthly_line()]).contract
    vendor = make_vendor()
    po_line = make_order_line(vendor, PRICE, kind=PurchaseOrderLine.Kind.MILESTONE)

    with pytest.raises(InvalidInput) as refused:
        cost_link_create(
            contract=contract, line_code="L1", basis="milestone", vendor=vendor, po_line=po_line
        )

    assert "recurring_fixed" in str(refused.value)


def test_agreement_link_takes_latest_revision():
    contract = make_contract(lines=[monthly_line()]).contract
    vendor = make_vendor()
    for revision in (1, 2):
        document_store(
            content=text_pdf(f"Vendor rate agreement, revision {revision}"),
            kind=Document.Kind.VENDOR_AGREEMENT,
            family="VA-OPS",
            title="Operations rate agreement",
        )

    link = cost_link_create(
        contract=contract,
        line_code="L1",
        basis="at_cost",
        vendor=vendor,
        vendor_document_family="VA-OPS",
        agreed_cost=PRICE,
    )

    assert link.vendor_document_revision == 2


def test_unknown_agreement_is_refused():
    contract = make_contract(lines=[monthly_line()]).contract

    with pytest.raises(NotFound):
        cost_link_create(
            contract=contract,
            line_code="L1",
            basis="at_cost",
            vendor=make_vendor(),
            vendor_document_family="VA-NONE",
            agreed_cost=PRICE,
        )


def test_sales_may_not_link():
    sam = make_user("sam", "sales")

    with pytest.raises(NotAllowed):
        linked_at_cost(by=sam)

    assert not CostLink.objects.exists()


def test_list_orders_by_contract_and_line():
    linked_cost_plus("C-2")
    linked_at_cost("C-1")
    make_customer("CUST-9")

    links = cost_links_list()

    assert [(link.contract.number, link.line_code) for link in links] == [
        ("C-1", "L1"),
        ("C-2", "L1"),
    ]
