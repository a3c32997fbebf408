"""Reports on vendors: the payment terms gap with linked customer contracts, and certifications."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billguard.controls.models import AuditEntry
from billguard.domain.errors import InvalidInput, NotAllowed
from billguard.procurement.certifications import certified_report, vendor_certification_record
from billguard.procurement.models import (
    CostLink,
    PurchaseOrder,
    PurchaseOrderLine,
    VendorCertification,
)
from billguard.procurement.onboarding import vendor_profile_set
from billguard.procurement.terms_gap import terms_gap_report
from billguard.registry.models import Contract, Document, Party
from billguard.registry.services.contracts import contract_version_create
from billguard.registry.terms import terms_from_version
from tests.acting_users import make_user
from tests.factories import make_contract, make_seller
from tests.procurement.vendor_setup import make_vendor, pdf

pytestmark = pytest.mark.django_db

D = Decimal
ON = dt.date(2026, 11, 1)


@pytest.fixture
def buyer():
    return make_user("pat", "procurement")


def link(contract: Contract, vendor: Party, line_code: str = "L1") -> CostLink:
    return CostLink.objects.create(
        contract=contract,
        line_code=line_code,
        basis=CostLink.Basis.AT_COST,
        vendor=vendor,
        agreed_cost=D("800.00"),
    )


def order(vendor: Party, number: str, lines: list[tuple[str, str]]) -> PurchaseOrder:
    purchase_order = PurchaseOrder.objects.create(
        number=number,
        vendor=vendor,
        seller_entity=make_seller(),
        currency="EUR",
        ordered_on=dt.date(2026, 10, 5),
    )
    for position, (quantity, price) in enumerate(lines, 1):
        PurchaseOrderLine.objects.create(
            purchase_order=purchase_order,
            line_number=position,
            description=f"Line {position}",
            quantity=D(quantity),
            unit_price=D(price),
        )
    return purchase_order


def test_longer_customer_terms_reported(buyer):
    vendor = make_vendor()
    vendor_profile_set(vendor=vendor, by=buyer, payment_terms_days=14)
    contract = make_contract("C-1").contract  # customer pays in 30 days
    link(contract, vendor)

    [row] = terms_gap_report(ON)

    assert row.vendor == "VEND-1"
    assert row.vendor_terms_days == 14
    [gap] = row.contracts
    assert (gap.contract, gap.customer, gap.line_codes) == ("C-1", "CUST-1", ("L1",))
    assert (gap.customer_terms_days, gap.gap_days) == (30, 16)


def test_shorter_customer_terms_not_reported(buyer):
    vendor = make_vendor()
    vendor_profile_set(vendor=vendor, by=buyer, payment_terms_days=45)
    link(make_contract("C-1").contract, vendor)

    [row] = terms_gap_report(ON)

    assert row.contracts == []
    assert row.as_dict()["contracts"] == []


def test_terms_gap_uses_version_in_force(buyer):
    vendor = make_vendor()
    vendor_profile_set(vendor=vendor, by=buyer, payment_terms_days=30)
    contract = make_contract("C-1").contract
    link(contract, vendor)
    terms = terms_from_version(
        contract.versions.prefetch_related("lines", "discounts", "price_changes").get()
    )
    terms.effective_from = dt.date(2026, 12, 1)
    terms.payment_terms_days = 90
    contract_version_create(contract=contract, terms=terms)

    before = terms_gap_report(ON)[0].contracts
    after = terms_gap_report(dt.date(2026, 12, 1))[0].contracts

    assert before == []
    assert [gap.gap_days for gap in after] == [60]


def test_vendor_without_terms_listed(buyer):
    vendor = make_vendor()
    link(make_contract("C-1").contract, vendor)

    [row] = terms_gap_report(ON)

    assert row.vendor_terms_days is None
    assert row.contracts == []


def test_terms_gap_groups_lines_and_sorts_by_gap(buyer):
    vendor = make_vendor()
    vendor_profile_set(vendor=vendor, by=buyer, payment_terms_days=10)
    first = make_contract("C-1").contract
    second = make_contract("C-2", customer_code="CUST-2", payment_terms_days=60).contract
    link(first, vendor, "L1")
    link(first, vendor, "L2")
    link(second, vendor, "L1")

    [row] = terms_gap_report(ON)

    assert [(g.contract, g.line_codes, g.gap_days) for g in row.contracts] == [
        ("C-2", ("L1",), 50),
        ("C-1", ("L1", "L2"), 20),
    ]


def test_certification_recorded_with_document(buyer):
    vendor = make_vendor()

    certification = vendor_certification_record(
        vendor=vendor,
        kind="Sustainability",
        name="ISO 14001",
        by=buyer,
        content=pdf("ISO 14001 certificate"),
        file_name="iso14001.pdf",
        issued_on=dt.date(2025, 3, 1),
        expires_on=dt.date(2028, 2, 28),
    )

    assert certification.kind == "sustainability"
    assert certification.document.kind == Document.Kind.OTHER
    assert certification.created_by == "pat"
    assert AuditEntry.objects.filter(action="vendor_certification.record").count() == 1


def test_certification_renewal_updates_same_record(buyer):
    vendor = make_vendor()
    vendor_certification_record(
        vendor=vendor, kind="diversity", name="MBE", by=buyer, expires_on=dt.date(2026, 12, 31)
    )

    vendor_certification_record(
        vendor=vendor, kind="diversity", name="MBE", by=buyer, expires_on=dt.date(2027, 12, 31)
    )

    assert VendorCertification.objects.get().expires_on == dt.date(2027, 12, 31)


@pytest.mark.parametrize(
    ("fields", "place"),
    [
        ({"kind": "green energy!", "name": "RE100"}, "--kind"),
        ({"kind": "sustainability", "name": " "}, "--name"),
        (
            {
                "kind": "sustainability",
                "name": "ISO 14001",
                "issued_on": dt.date(2026, 5, 1),
                "expires_on": dt.date(2026, 4, 1),
            },
            "--expires-on",
        ),
    ],
)
def test_invalid_certification_rejected(buyer, fields, place):
    with pytest.raises(InvalidInput) as raised:
        vendor_certification_record(vendor=make_vendor(), by=buyer, **fields)

    assert raised.value.place == place
    assert not VendorCertification.objects.exists()


def test_certification_needs_vendor_onboard():
    with pytest.raises(NotAllowed):
        vendor_certification_record(
            vendor=make_vendor(), kind="diversity", name="MBE", by=make_user("sam", "sales")
        )


def test_certified_report_lists_orders_and_contracts(buyer):
    green = make_vendor("VEND-G")
    other = make_vendor("VEND-O")
    vendor_certification_record(
        vendor=green, kind="sustainability", name="ISO 14001", by=buyer,
        issued_on=dt.date(2025, 1, 1), expires_on=dt.date(2027, 12, 31),
    )  # fmt: skip
    order(green, "PO-1", [("2", "100.00"), ("1", "50.005")])
    order(other, "PO-2", [("1", "999.00")])
    link(make_contract("C-1").contract, green)
    link(make_contract("C-2", customer_code="CUST-2").contract, other)

    report = certified_report("sustainability", ON)

    assert report.vendors == [("VEND-G", "Vendor VEND-G", "ISO 14001")]
    assert [o.number for o in report.orders] == ["PO-1"]
    assert report.orders[0].amount.amount == D("250.01")
    assert report.totals == {"EUR": D("250.01")}
    assert [(c.number, c.customer, c.line_codes) for c in report.contracts] == [
        ("C-1", "CUST-1", ("L1",))
    ]


@pytest.mark.parametrize(
    ("on", "listed"),
    [
        (dt.date(2024, 12, 31), False),  # before issue
        (dt.date(2025, 1, 1), True),
        (dt.date(2027, 12, 31), True),  # last valid day
        (dt.date(2028, 1, 1), False),  # expired
    ],
)
def test_certified_report_validity_on_date(buyer, on, listed):
    vendor = make_vendor()
    vendor_certification_record(
        vendor=vendor, kind="sustainability", name="ISO 14001", by=buyer,
        issued_on=dt.date(2025, 1, 1), expires_on=dt.date(2027, 12, 31),
    )  # fmt: skip

    report = certified_report("sustainability", on)

    assert bool(report.vendors) is listed


def test_certified_report_other_kind_empty(buyer):
    vendor_certification_record(vendor=make_vendor(), kind="diversity", name="MBE", by=buyer)

    report = certified_report("sustainability", ON)

    assert report.vendors == []
    assert report.as_dict()["purchase_orders"] == []
