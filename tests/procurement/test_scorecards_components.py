"""Each scorecard component measured on a small case worked out by hand."""

import datetime as dt
from decimal import Decimal

import pytest

from billguard.controls.models import ChangeRequest, PolicySetting
from billguard.controls.models.policy import Target
from billguard.controls.policy import VENDOR_ONBOARDING_KEY
from billguard.controls.policy_scorecard import ScorecardPolicy
from billguard.domain.periods import parse_period
from billguard.procurement import scorecard_measures as measures
from billguard.procurement.models import (
    CostLink,
    OnboardingItem,
    VendorCertification,
    VendorProfile,
)
from billguard.procurement.scorecard_measures import Measure
from billguard.procurement.scorecards import component_points
from tests.factories import make_contract
from tests.procurement.scorecard_records import (
    make_change_request,
    make_finding,
    make_invoice,
    make_order,
    make_receipt,
    make_vendor,
    order_line,
    utc,
)

pytestmark = pytest.mark.django_db

D = Decimal
NOVEMBER = parse_period("2026-11")
POLICY = ScorecardPolicy()


def points(name: str, measure: Measure) -> Decimal:
    return component_points(name, measure, POLICY)


# On-time receipts -------------------------------------------------------------------------


def test_on_time_receipts_counts_receipts_with_expected_date():
    vendor = make_vendor()
    order = make_order(
        vendor,
        "PO-1",
        lines=[
            ("100.00", dt.date(2026, 11, 10)),
            ("50.00", dt.date(2026, 11, 20)),
            ("20.00", None),
        ],
    )
    make_receipt(order_line(order, 1), dt.date(2026, 11, 9))  # early
    make_receipt(order_line(order, 1), dt.date(2026, 11, 10))  # on the expected day
    make_receipt(order_line(order, 2), dt.date(2026, 11, 21))  # a day late
    make_receipt(order_line(order, 3), dt.date(2026, 11, 5))  # no expected date
    make_receipt(order_line(order, 1), dt.date(2026, 10, 30))  # October

    measure = measures.on_time_receipts(NOVEMBER, [vendor.pk])[vendor.pk]

    assert measure.value == D("0.6667")
    assert measure.observations == 3
    assert measure.detail == "2 of 3 receipts on time"
    assert points("on_time_receipts", measure) == D("66.67")


def test_on_time_receipts_undated_lines_no_data():
    vendor = make_vendor()
    order = make_order(vendor, "PO-1", lines=[("100.00", None)])
    make_receipt(order_line(order), dt.date(2026, 11, 9))

    assert measures.on_time_receipts(NOVEMBER, [vendor.pk]) == {}


def test_on_time_receipts_keeps_vendors_apart():
    first, second = make_vendor("VEND-1"), make_vendor("VEND-2")
    late = make_order(first, "PO-1", lines=[("100.00", dt.date(2026, 11, 1))])
    on_time = make_order(second, "PO-2", lines=[("100.00", dt.date(2026, 11, 30))])
    make_receipt(order_line(late), dt.date(2026, 11, 2))
    make_receipt(order_line(on_time), dt.date(2026, 11, 2))

    found = measures.on_time_receipts(NOVEMBER, [first.pk, second.pk])

    assert found[first.pk].value == D("0")
    assert found[second.pk].value == D("1")


# Price variance ---------------------------------------------------------------------------


def test_price_variance_is_mean_absolute_percentage():
    vendor = make_vendor()
    order = make_order(vendor, "PO-1", lines=[("100.00", None), ("50.00", None)])
    make_invoice(
        vendor,
        "INV-1",
        lines=[
            (order_line(order, 1), "104.00"),  # 4 % above
            (order_line(order, 2), "48.00"),  # 4 % below
            (None, "999.00"),  # no order line
        ],
    )
    make_invoice(vendor, "INV-2", lines=[(order_line(order, 1), "100.00")])  # 0 %
    make_invoice(
        vendor,
        "INV-3",
        issue_date=dt.date(2026, 12, 1),
        lines=[(order_line(order, 1), "200.00")],
    )

    measure = measures.price_variance(NOVEMBER, [vendor.pk])[vendor.pk]

    # (4 + 4 + 0) / 3 = 2.6667 %; 10 % is 0 points, so 100 - 26.667 = 73.33.
    assert measure.value == D("2.6667")
    assert measure.observations == 3
    assert points("price_variance", measure) == D("73.33")


def test_price_variance_beyond_scale_is_zero_points():
    vendor = make_vendor()
    order = make_order(vendor, "PO-1", lines=[("100.00", None)])
    make_invoice(vendor, "INV-1", lines=[(order_line(order), "125.00")])

    measure = measures.price_variance(NOVEMBER, [vendor.pk])[vendor.pk]

    assert measure.value == D("25.0000")
    assert points("price_variance", measure) == D("0.00")


def test_price_variance_leaves_out_other_currency():
    vendor = make_vendor()
    euro_order = make_order(vendor, "PO-1", lines=[("100.00", None)])
    make_invoice(vendor, "INV-1", lines=[(order_line(euro_order), "110.00")])
    make_invoice(vendor, "INV-2", currency="USD", lines=[(order_line(euro_order), "108.00")])

    measure = measures.price_variance(NOVEMBER, [vendor.pk])[vendor.pk]

    assert measure.value == D("10.0000")
    assert measure.observations == 1
    assert "1 in another currency left out" in measure.detail


def test_price_variance_of_free_order_line():
    vendor = make_vendor()
    order = make_order(vendor, "PO-1", lines=[("0.00", None), ("0.00", None)])
    make_invoice(
        vendor, "INV-1", lines=[(order_line(order, 1), "5.00"), (order_line(order, 2), "0.00")]
    )

    measure = measures.price_variance(NOVEMBER, [vendor.pk])[vendor.pk]

    assert measure.value == D("50.0000")


def test_price_variance_without_order_lines_has_no_data():
    vendor = make_vendor()
    make_invoice(vendor, "INV-1", lines=[(None, "10.00")])

    assert measures.price_variance(NOVEMBER, [vendor.pk]) == {}


# Match exceptions -------------------------------------------------------------------------


def test_match_exceptions_share_of_invoices():
    vendor = make_vendor()
    make_invoice(
        vendor, "INV-1", findings=("MATCH_PRICE_VARIANCE", "MATCH_QUANTITY_EXCEEDS_RECEIPT")
    )
    make_invoice(vendor, "INV-2", findings=("VENDOR_BANK_ACCOUNT_MISMATCH",))
    make_invoice(vendor, "INV-3")
    make_invoice(vendor, "INV-4", findings=("MATCH_QUANTITY_EXCEEDS_RECEIPT",))
    make_invoice(
        vendor, "INV-5", issue_date=dt.date(2026, 10, 31), findings=("MATCH_PRICE_VARIANCE",)
    )

    measure = measures.match_exceptions(NOVEMBER, [vendor.pk])[vendor.pk]

    assert measure.value == D("0.5000")
    assert measure.observations == 4
    assert measure.detail == "2 of 4 invoices with a match finding"
    assert points("match_exceptions", measure) == D("50.00")


def test_match_exceptions_without_invoices_has_no_data():
    vendor = make_vendor()
    make_invoice(vendor, "INV-1", issue_date=dt.date(2026, 10, 1))

    assert measures.match_exceptions(NOVEMBER, [vendor.pk]) == {}


# Duplicate attempts -----------------------------------------------------------------------


def test_duplicate_attempts_counts_flagged_documents():
    vendor = make_vendor()
    twice = make_invoice(vendor, "INV-1", findings=("VENDOR_INVOICE_DUPLICATE_SUSPECTED",))
    make_finding("VENDOR_INVOICE_DUPLICATE_SUSPECTED", invoice=twice)
    make_invoice(vendor, "INV-2", findings=("MATCH_PRICE_VARIANCE",))
    order = make_order(vendor, "PO-1", ordered_on=dt.date(2026, 11, 3))
    make_finding("PO_DUPLICATE_SUSPECTED", order=order)
    make_invoice(
        vendor,
        "INV-3",
        issue_date=dt.date(2026, 10, 2),
        findings=("VENDOR_INVOICE_DUPLICATE_SUSPECTED",),
    )
    october_order = make_order(vendor, "PO-2", ordered_on=dt.date(2026, 10, 3))
    make_finding("PO_DUPLICATE_SUSPECTED", order=october_order)

    measure = measures.duplicate_attempts(NOVEMBER, [vendor.pk])[vendor.pk]

    assert measure.value == D("2")
    assert measure.observations == 3
    assert measure.detail == "1 of 2 invoices and 1 of 1 orders flagged as duplicates"
    # 5 attempts are 0 points, so each one costs 20.
    assert points("duplicate_attempts", measure) == D("60.00")


def test_duplicate_attempts_none_is_full_points():
    vendor = make_vendor()
    make_order(vendor, "PO-1", ordered_on=dt.date(2026, 11, 3))

    measure = measures.duplicate_attempts(NOVEMBER, [vendor.pk])[vendor.pk]

    assert measure.value == D("0")
    assert points("duplicate_attempts", measure) == D("100.00")


def test_duplicate_attempts_without_documents_has_no_data():
    vendor = make_vendor()
    make_order(vendor, "PO-1", ordered_on=dt.date(2026, 10, 3))

    assert measures.duplicate_attempts(NOVEMBER, [vendor.pk]) == {}


# Change requests per contract -------------------------------------------------------------


def link(contract, vendor, line_code="L1"):
    return CostLink.objects.create(
        contract=contract,
        line_code=line_code,
        basis=CostLink.Basis.AT_COST,
        vendor=vendor,
        agreed_cost=D("100.00"),
    )


def test_change_requests_per_linked_contract():
    vendor, other = make_vendor("VEND-1"), make_vendor("VEND-2")
    first = make_contract("C-1").contract
    second = make_contract("C-2").contract
    unlinked = make_contract("C-3").contract
    link(first, vendor, "L1")
    link(first, vendor, "L2")
    link(second, vendor)
    make_change_request(Target.VENDOR, vendor.pk, utc(2026, 11, 1, 0, 0))
    make_change_request(Target.CONTRACT, first.pk, utc(2026, 11, 15))
    make_change_request(
        Target.CONTRACT, second.pk, utc(2026, 11, 30, 23, 59), status=ChangeRequest.Status.REJECTED
    )
    make_change_request(Target.CONTRACT, unlinked.pk, utc(2026, 11, 15))
    make_change_request(Target.VENDOR, other.pk, utc(2026, 11, 15))
    make_change_request(Target.VENDOR, vendor.pk, utc(2026, 10, 31, 23, 59))
    make_change_request(Target.VENDOR, vendor.pk, utc(2026, 12, 1, 0, 0))

    measure = measures.change_requests(NOVEMBER, [vendor.pk])[vendor.pk]

    # 3 requests over 2 linked contracts; 2 per contract is 0 points.
    assert measure.value == D("1.5000")
    assert measure.observations == 2
    assert measure.detail == "3 change requests over 2 linked contracts"
    assert points("change_requests", measure) == D("25.00")


def test_change_requests_per_order_without_contracts():
    vendor = make_vendor()
    make_order(vendor, "PO-1", ordered_on=dt.date(2026, 11, 2))
    make_order(vendor, "PO-2", ordered_on=dt.date(2026, 11, 20))
    make_order(vendor, "PO-3", ordered_on=dt.date(2026, 10, 20))
    make_change_request(Target.VENDOR, vendor.pk, utc(2026, 11, 3))

    measure = measures.change_requests(NOVEMBER, [vendor.pk])[vendor.pk]

    assert measure.value == D("0.5000")
    assert "over 2 purchase orders of the period" in measure.detail
    assert points("change_requests", measure) == D("75.00")


def test_change_requests_of_vendor_alone():
    vendor = make_vendor()
    make_change_request(Target.VENDOR, vendor.pk, utc(2026, 11, 3))

    measure = measures.change_requests(NOVEMBER, [vendor.pk])[vendor.pk]

    assert measure.value == D("1.0000")
    assert points("change_requests", measure) == D("50.00")


def test_change_requests_nothing_linked_no_data():
    vendor = make_vendor()
    make_order(vendor, "PO-1", ordered_on=dt.date(2026, 10, 2))

    assert measures.change_requests(NOVEMBER, [vendor.pk]) == {}


# Document compliance ----------------------------------------------------------------------


def test_document_compliance_at_period_end():
    vendor = make_vendor()
    requirement = OnboardingItem.Requirement
    done = OnboardingItem.Status.DONE
    OnboardingItem.objects.create(vendor=vendor, requirement=requirement.LEGAL_REVIEW, status=done)
    OnboardingItem.objects.create(
        vendor=vendor,
        requirement=requirement.TAX_FORM,
        status=done,
        expires_on=dt.date(2026, 11, 30),  # valid on the last day
    )
    OnboardingItem.objects.create(
        vendor=vendor,
        requirement=requirement.INSURANCE_CERTIFICATE,
        status=done,
        expires_on=dt.date(2026, 11, 29),
    )
    OnboardingItem.objects.create(vendor=vendor, requirement=requirement.BANK_DETAILS)
    # The profile completes payment terms and names the tax form the item must contain.
    VendorProfile.objects.create(
        vendor=vendor, payment_terms_days=30, tax_classification=VendorProfile.TaxForm.W9
    )
    certify = VendorCertification.objects.create
    certify(vendor=vendor, kind="sustainability", name="ISO 14001", expires_on=dt.date(2027, 3, 1))
    certify(vendor=vendor, kind="diversity", name="MBE", expires_on=dt.date(2026, 10, 1))
    certify(vendor=vendor, kind="diversity", name="MBE", expires_on=dt.date(2027, 10, 1))
    certify(vendor=vendor, kind="security", name="ISO 27001", issued_on=dt.date(2026, 12, 5))

    measure = measures.document_compliance(NOVEMBER, [vendor.pk])[vendor.pk]

    # Required items: legal review, tax form and payment terms in order; the insurance
    # certificate expired and bank details have no approved account: 3 of 5.
    # Certifications: ISO 14001 and the renewed MBE, 2 of 2.
    assert measure.value == D("0.7143")
    assert measure.observations == 7
    assert measure.detail == "5 of 7 documents in order on 2026-11-30"
    assert points("document_compliance", measure) == D("71.43")


def test_document_compliance_counts_required_items_never_recorded():
    vendor = make_vendor()
    OnboardingItem.objects.create(
        vendor=vendor,
        requirement=OnboardingItem.Requirement.LEGAL_REVIEW,
        status=OnboardingItem.Status.DONE,
    )

    measure = measures.document_compliance(NOVEMBER, [vendor.pk])[vendor.pk]

    assert measure.value == D("0.2000")
    assert measure.detail == "1 of 5 documents in order on 2026-11-30"


def test_document_compliance_expired_certification_counts_against():
    vendor = make_vendor()
    VendorCertification.objects.create(
        vendor=vendor, kind="security", name="ISO 27001", expires_on=dt.date(2026, 6, 30)
    )

    measure = measures.document_compliance(NOVEMBER, [vendor.pk])[vendor.pk]

    assert measure.value == D("0.0000")


def test_document_compliance_without_required_items_or_documents_has_no_data():
    vendor = make_vendor()
    PolicySetting.objects.create(key=VENDOR_ONBOARDING_KEY, value=[])

    assert measures.document_compliance(NOVEMBER, [vendor.pk]) == {}
