"""The sample company's vendors: most onboarded, one expired certificate, one missing W-9."""

import datetime as dt

import pytest

from billguard.controls.models import ChangeRequest
from billguard.procurement.expiry import vendor_documents_sweep
from billguard.procurement.models import VendorCertification, VendorProfile
from billguard.procurement.onboarding import onboarding_status
from billguard.registry.models import Party, VendorBankAccount
from billguard.sample.company import AS_OF, generate_sample_company

pytestmark = pytest.mark.django_db


@pytest.fixture
def vendors(tmp_path):
    generate_sample_company(customers=40, contracts=90, external_drafts_dir=tmp_path / "drafts")
    return list(Party.objects.filter(kind=Party.Kind.VENDOR).order_by("code"))


def test_sample_vendor_states(vendors):
    statuses = {vendor.code: onboarding_status(vendor, AS_OF) for vendor in vendors}

    incomplete = {code: status for code, status in statuses.items() if not status.complete}
    assert len(vendors) >= 4
    assert sorted(incomplete) == ["VEND-002", "VEND-004"]
    assert incomplete["VEND-002"].expired == (("insurance certificate", dt.date(2026, 9, 30)),)
    assert incomplete["VEND-002"].missing == ()
    assert incomplete["VEND-004"].missing == ("tax classification form",)
    assert Party.objects.get(code="VEND-004").country == "US"


def test_sample_bank_details_approved_by_two(vendors):
    requests = ChangeRequest.objects.filter(target="vendor")

    assert requests.count() == len(vendors)
    assert set(requests.values_list("status", flat=True)) == {"applied"}
    assert VendorBankAccount.objects.filter(is_primary=True).count() == len(vendors)
    assert ChangeRequest.objects.filter(status="pending").count() == 2


def test_sample_onboarded_at_only_when_complete(vendors):
    onboarded = set(
        VendorProfile.objects.filter(onboarded_at__isnull=False).values_list(
            "vendor__code", flat=True
        )
    )

    assert onboarded == {v.code for v in vendors} - {"VEND-002", "VEND-004"}


def test_sample_certification_expiring_in_window(vendors):
    assert VendorCertification.objects.filter(kind="sustainability").exists()

    counts = vendor_documents_sweep(today=AS_OF)

    assert counts.certifications == 1
    assert counts.documents == 1  # the expired insurance certificate
