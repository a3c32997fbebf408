"""Vendor-side changes open cost changes: order amendments, vendor invoices, agreement revisions."""

from decimal import Decimal

import pytest

from billguard.controls.alerts import alert_subscribe
from billguard.controls.models import AlertDelivery, AuditEntry
from billguard.controls.models.alerts import AlertEvent
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound
from billguard.procurement.models import CostChange
from billguard.procurement.passthrough import (
    cost_changes_list,
    cost_link_agreement_revision,
    cost_link_create,
)
from billguard.registry.models import Document
from billguard.registry.services.documents import document_store
from billguard.sample.pdf import text_pdf
from tests.acting_users import make_user
from tests.factories import make_contract
from tests.procurement.passthrough_setup import (
    PRICE,
    linked_at_cost,
    linked_cost_plus,
    make_vendor,
    monthly_line,
    record_vendor_invoice,
    reprice,
)

pytestmark = pytest.mark.django_db

D = Decimal


def test_order_amendment_opens_change_with_alert_and_audit():
    alert_subscribe(event=AlertEvent.COST_CHANGED, channel="email", address="ops@acme.example")
    pat = make_user("pat", "procurement")
    linked = linked_at_cost()

    reprice(linked.po_line, D("1080.00"), by=pat)

    change = CostChange.objects.get()
    assert change.link == linked.link
    assert change.source == "po_amendment"
    assert change.reference == "PO-C-1 rev 2"
    assert (change.old_cost, change.new_cost) == (PRICE, D("1080.00"))
    assert change.status == "open"
    delivery = AlertDelivery.objects.get(event="cost.changed")
    assert "1000.00 to 1080.00" in delivery.payload["subject"]
    assert delivery.payload["data"]["new_cost"] == "1080.00"
    assert delivery.payload["data"]["contract"] == linked.contract.number
    assert AuditEntry.objects.get(action="cost_change.open").actor == "pat"


def test_amendment_to_same_cost_twice_opens_one_change():
    linked = linked_at_cost()

    reprice(linked.po_line, D("1080.00"))
    reprice(linked.po_line, D("1080.00"))

    assert CostChange.objects.count() == 1


def test_second_amendment_opens_change_from_first_new_cost():
    linked = linked_at_cost()

    reprice(linked.po_line, D("1080.00"))
    reprice(linked.po_line, D("1120.00"))

    costs = list(CostChange.objects.order_by("pk").values_list("old_cost", "new_cost"))
    assert costs == [(PRICE, D("1080.00")), (D("1080.00"), D("1120.00"))]


def test_amendment_of_unlinked_order_line_opens_nothing():
    linked = linked_at_cost()
    from tests.procurement.passthrough_setup import make_order_line

    other = make_order_line(linked.vendor, D("50.00"), number="PO-OTHER")

    reprice(other, D("60.00"))

    assert not CostChange.objects.exists()


def test_vendor_invoice_at_other_price_opens_change():
    linked = linked_cost_plus()

    record_vendor_invoice(linked.po_line, D("840.00"), number="INV-77")

    change = CostChange.objects.get()
    assert change.source == "vendor_invoice"
    assert change.reference == "vendor invoice INV-77 line 1"
    assert (change.old_cost, change.new_cost) == (D("800.00"), D("840.00"))


def test_vendor_invoice_at_agreed_price_opens_nothing():
    linked = linked_cost_plus()

    record_vendor_invoice(linked.po_line, D("800.000000"))

    assert not CostChange.objects.exists()


def test_vendor_invoice_at_amended_cost_opens_no_second_change():
    linked = linked_at_cost()
    reprice(linked.po_line, D("1080.00"))

    record_vendor_invoice(linked.po_line, D("1080.00"))

    assert CostChange.objects.count() == 1


def agreement_link(family: str = "VA-OPS") -> None:
    document_store(
        content=text_pdf("Vendor rate agreement, revision 1"),
        kind=Document.Kind.VENDOR_AGREEMENT,
        family=family,
        title="Operations rate agreement",
    )
    for number in ("C-1", "C-2"):
        contract = make_contract(number, lines=[monthly_line()]).contract
        cost_link_create(
            contract=contract,
            line_code="L1",
            basis="at_cost",
            vendor=make_vendor(),
            vendor_document_family=family,
            agreed_cost=PRICE,
        )


def test_agreement_revision_opens_change_on_every_dependent_link():
    agreement_link()
    document_store(
        content=text_pdf("Vendor rate agreement, revision 2"),
        kind=Document.Kind.VENDOR_AGREEMENT,
        family="VA-OPS",
        title="Operations rate agreement",
    )
    pat = make_user("pat", "procurement")

    opened = cost_link_agreement_revision(family="VA-OPS", unit_cost=D("1040.00"), by=pat)

    assert len(opened) == 2
    assert {change.link.contract.number for change in opened} == {"C-1", "C-2"}
    assert {change.reference for change in opened} == {"VA-OPS rev 2"}
    assert all(change.source == "vendor_agreement" for change in opened)


def test_agreement_revision_already_linked_opens_nothing():
    agreement_link()

    with pytest.raises(NotFound):
        cost_link_agreement_revision(family="VA-OPS", unit_cost=D("1040.00"))

    assert not CostChange.objects.exists()


def test_agreement_revision_not_stored_is_refused():
    agreement_link()

    with pytest.raises(NotFound):
        cost_link_agreement_revision(family="VA-OPS", revision=5, unit_cost=D("1040.00"))


def test_negative_agreement_cost_is_refused():
    agreement_link()

    with pytest.raises(InvalidInput):
        cost_link_agreement_revision(family="VA-OPS", unit_cost=D("-1"))


def test_agreement_revision_by_sales_is_refused():
    agreement_link()

    with pytest.raises(NotAllowed):
        cost_link_agreement_revision(
            family="VA-OPS", unit_cost=D("1040.00"), by=make_user("sam", "sales")
        )


def test_changes_list_open_only():
    first = linked_at_cost("C-1")
    second = linked_cost_plus("C-2")
    reprice(first.po_line, D("1080.00"))
    reprice(second.po_line, D("840.00"))
    CostChange.objects.filter(link=first.link).update(status="approved")

    every = cost_changes_list()
    still_open = cost_changes_list(open_only=True)

    assert len(every) == 2
    assert [change.link.contract.number for change in still_open] == ["C-2"]
