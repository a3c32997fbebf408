"""``billguard vendors``: profiles, checklist items, certifications and reports."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from billguard.cli.main import main
from billguard.controls.alerts import alert_subscribe
from billguard.controls.models import AlertDelivery
from billguard.procurement.models import (
    CostLink,
    OnboardingItem,
    VendorCertification,
    VendorProfile,
)
from billguard.procurement.onboarding import vendor_onboarding_refresh
from billguard.registry.models import Party, VendorBankAccount
from billguard.sample.pdf import text_pdf
from tests.acting_users import make_user
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def vendor(monkeypatch):
    monkeypatch.delenv("BILLGUARD_USER", raising=False)
    make_user("pat", "procurement")
    make_user("sam", "sales")
    return Party.objects.create(code="VEND-1", kind="vendor", name="Contoso Hosting", country="US")


def pdf_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text_pdf(text))
    return path


def onboard(tmp_path, vendor_code="VEND-1"):
    """Complete the checklist through the command, all but the bank details."""
    commands = [
        ["vendors", "profile", vendor_code, "--category", "hosting", "--payment-terms", "14",
         "--tax-form", "w9"],
        ["vendors", "item", vendor_code, "legal_review", "--note", "Master agreement reviewed"],
        ["vendors", "item", vendor_code, "tax_form", "--file",
         str(pdf_file(tmp_path, "w9.pdf", "Form W-9")), "--signed-on", "2026-01-10"],
        ["vendors", "item", vendor_code, "insurance_certificate", "--file",
         str(pdf_file(tmp_path, "coi.pdf", "Certificate of insurance")),
         "--expires-on", "2027-06-30"],
    ]  # fmt: skip
    for command in commands:
        assert main([*command, "--today", "2026-11-01", "--user", "pat"]) == 0, command


def test_profile_sets_fields(capsys, vendor):
    status = main(
        ["vendors", "profile", "VEND-1", "--payment-terms", "45", "--category", "hosting",
         "--user", "pat"]
    )  # fmt: skip

    assert status == 0
    profile = VendorProfile.objects.get(vendor=vendor)
    assert (profile.payment_terms_days, profile.category) == (45, "hosting")
    out = capsys.readouterr().out
    assert "profile of VEND-1 changed:" in out
    assert "payment terms: - -> 45 days" in out


def test_profile_without_user_exits_two(capsys, vendor):
    status = main(["vendors", "profile", "VEND-1", "--payment-terms", "45"])

    assert status == 2
    assert "--user" in capsys.readouterr().err
    assert not VendorProfile.objects.exists()


def test_profile_by_sales_refused(capsys, vendor):
    status = main(["vendors", "profile", "VEND-1", "--payment-terms", "45", "--user", "sam"])

    assert status == 2
    assert "sam" in capsys.readouterr().err
    assert not VendorProfile.objects.exists()


def test_invalid_vat_number_warns(capsys, vendor):
    status = main(
        ["vendors", "profile", "VEND-1", "--tax-form", "eu_vat", "--vat-number", "DE136695977",
         "--user", "pat"]
    )  # fmt: skip

    assert status == 0
    assert "warning: EU VAT number DE136695977 is invalid" in capsys.readouterr().out
    assert VendorProfile.objects.get().vat_number_valid is False


def test_unknown_vendor_exits_two(capsys, vendor):
    status = main(["vendors", "show", "VEND-404"])

    assert status == 2
    assert "VEND-404" in capsys.readouterr().err


def test_customer_code_rejected(capsys, vendor):
    Party.objects.create(code="CUST-1", kind="customer", name="Northwind", country="DE")

    status = main(["vendors", "item", "CUST-1", "legal_review", "--user", "pat"])

    assert status == 2
    assert "not a vendor" in capsys.readouterr().err


def test_certificate_without_expiry_exits_two(capsys, tmp_path, vendor):
    path = pdf_file(tmp_path, "coi.pdf", "Certificate")

    status = main(
        ["vendors", "item", "VEND-1", "insurance_certificate", "--file", str(path), "--user", "pat"]
    )

    err = capsys.readouterr().err
    assert status == 2
    assert "expiry date" in err
    assert "--expires-on:" in err
    assert "expires_on" not in err
    assert not OnboardingItem.objects.exists()


def test_unreadable_file_exits_two(capsys, tmp_path, vendor):
    status = main(
        ["vendors", "item", "VEND-1", "insurance_certificate", "--file",
         str(tmp_path / "missing.pdf"), "--expires-on", "2027-01-01", "--user", "pat"]
    )  # fmt: skip

    assert status == 2
    assert "cannot read the file" in capsys.readouterr().err


def test_show_lists_checklist(capsys, tmp_path, vendor):
    onboard(tmp_path)
    capsys.readouterr()

    status = main(["vendors", "show", "VEND-1", "--on", "2026-11-01"])

    out = capsys.readouterr().out
    assert status == 0
    assert "Checklist on 2026-11-01: incomplete" in out
    assert "done      legal review" in out
    assert "valid until 2027-06-30" in out
    assert "pending   bank details  no approved bank account" in out
    assert "done      payment terms  14 days" in out


def test_show_json_after_bank_account(capsys, tmp_path, vendor):
    onboard(tmp_path)
    VendorBankAccount.objects.create(party=vendor, iban="DE89370400440532013000")
    capsys.readouterr()

    status = main(["vendors", "show", "VEND-1", "--on", "2026-11-01", "--json"])

    data = json.loads(capsys.readouterr().out)
    assert status == 0
    assert data["complete"] is True
    assert {item["state"] for item in data["checklist"]} == {"done"}
    assert data["profile"]["onboarded_at"] is not None


def test_list_shows_expired_certificate(capsys, tmp_path, vendor):
    onboard(tmp_path)
    VendorBankAccount.objects.create(party=vendor, iban="DE89370400440532013000")
    capsys.readouterr()

    assert main(["vendors", "list", "--on", "2027-07-01"]) == 0
    text = capsys.readouterr().out
    assert main(["vendors", "list", "--on", "2027-06-30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)

    assert "insurance certificate expired" in text
    assert data["vendors"][0]["complete"] is True


def test_certify_and_certified_report(capsys, tmp_path, vendor):
    path = pdf_file(tmp_path, "iso.pdf", "ISO 14001")
    status = main(
        ["vendors", "certify", "VEND-1", "--kind", "sustainability", "--name", "ISO 14001",
         "--file", str(path), "--issued-on", "2025-01-01", "--expires-on", "2027-12-31",
         "--user", "pat"]
    )  # fmt: skip
    assert status == 0
    contract = make_contract("C-1").contract
    CostLink.objects.create(
        contract=contract, line_code="L1", basis="at_cost", vendor=vendor, agreed_cost=Decimal(1)
    )
    capsys.readouterr()

    status = main(["vendors", "certified", "--kind", "sustainability", "--on", "2026-11-01"])
    text = capsys.readouterr().out
    main(["vendors", "certified", "--kind", "sustainability", "--on", "2028-01-01", "--json"])
    expired = json.loads(capsys.readouterr().out)

    assert status == 0
    assert VendorCertification.objects.get().document is not None
    assert "VEND-1" in text
    assert "ISO 14001" in text
    assert "C-1" in text
    assert expired["vendors"] == []


def test_terms_gap_report(capsys, tmp_path, vendor):
    onboard(tmp_path)  # the vendor is paid in 14 days
    contract = make_contract("C-1").contract  # the customer pays in 30 days
    CostLink.objects.create(
        contract=contract, line_code="L1", basis="at_cost", vendor=vendor, agreed_cost=Decimal(1)
    )
    capsys.readouterr()

    assert main(["vendors", "terms-gap", "--on", "2026-11-01"]) == 0
    text = capsys.readouterr().out
    assert main(["vendors", "terms-gap", "--on", "2026-11-01", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)

    assert "C-1" in text
    assert "gap 16 days" in text
    [row] = data["vendors"]
    assert row["contracts"][0]["gap_days"] == 16


def test_sweep_and_alerts_sweep(capsys, tmp_path, vendor):
    onboard(tmp_path)
    alert_subscribe(event="vendor.document_expiring", channel="email", address="ap@example.com")
    capsys.readouterr()

    assert main(["vendors", "sweep", "--today", "2027-06-15"]) == 0
    out = capsys.readouterr().out

    assert "1 onboarding document and 0 certifications alerted" in out
    assert AlertDelivery.objects.filter(event="vendor.document_expiring").count() == 1
    item = OnboardingItem.objects.get(requirement="insurance_certificate")
    assert item.expiry_alerted_on == dt.date(2027, 6, 30)


def test_alerts_sweep_runs_vendor_sweep(capsys, vendor):
    status = main(["alerts", "sweep"])

    assert status == 0
    assert "expiring vendor document alert(s)" in capsys.readouterr().out


def test_bank_details_item_explains_change_request(capsys, vendor):
    status = main(["vendors", "item", "VEND-1", "bank_details", "--user", "pat"])

    assert status == 2
    assert "bank_details" in capsys.readouterr().err


def onboard_by_vat_number(tmp_path, vendor):
    """Complete the checklist of a vendor classified by its EU VAT number."""
    commands = [
        ["vendors", "profile", "VEND-1", "--payment-terms", "30", "--tax-form", "eu_vat",
         "--vat-number", "DE136695976"],
        ["vendors", "item", "VEND-1", "legal_review", "--note", "Master agreement reviewed"],
        ["vendors", "item", "VEND-1", "insurance_certificate", "--file",
         str(pdf_file(tmp_path, "coi.pdf", "Certificate of insurance")),
         "--expires-on", "2099-06-30"],
    ]  # fmt: skip
    for command in commands:
        assert main([*command, "--user", "pat"]) == 0, command
    VendorBankAccount.objects.create(party=vendor, iban="DE89370400440532013000")
    vendor_onboarding_refresh(vendor)
    assert VendorProfile.objects.get(vendor=vendor).onboarded_at is not None


def test_profile_tax_form_change_lists_losses(capsys, tmp_path, vendor):
    onboard_by_vat_number(tmp_path, vendor)
    capsys.readouterr()

    status = main(["vendors", "profile", "VEND-1", "--tax-form", "w8ben", "--user", "pat"])

    out = capsys.readouterr().out
    assert status == 0
    assert "profile of VEND-1 changed:" in out
    assert "tax classification: EU VAT number -> IRS Form W-8BEN" in out
    assert "EU VAT number DE136695976 removed" in out
    assert "--tax-form eu_vat --vat-number DE136695976" in out
    assert "checklist item tax classification form: done -> pending" in out
    assert "onboarding checklist no longer complete" in out
    assert VendorProfile.objects.get(vendor=vendor).onboarded_at is None


def test_profile_without_option_refused(capsys, vendor):
    status = main(["vendors", "profile", "VEND-1", "--user", "pat"])

    captured = capsys.readouterr()
    assert status == 2
    assert "nothing to set in the profile of vendor VEND-1" in captured.err
    assert "profile of VEND-1" not in captured.out
    assert not VendorProfile.objects.exists()


def test_tax_form_signed_in_future_refused(capsys, tmp_path, vendor):
    main(["vendors", "profile", "VEND-1", "--tax-form", "w9", "--user", "pat"])
    form = pdf_file(tmp_path, "w9.pdf", "Form W-9")

    status = main(
        ["vendors", "item", "VEND-1", "tax_form", "--file", str(form), "--signed-on",
         "2026-11-02", "--today", "2026-11-01", "--user", "pat"]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert status == 2
    assert "--signed-on" in err
    assert "signing date 2026-11-02 of the tax classification form is after today" in err
    assert not OnboardingItem.objects.filter(requirement="tax_form").exists()


def test_expired_insurance_certificate_refused(capsys, tmp_path, vendor):
    certificate = pdf_file(tmp_path, "coi.pdf", "Certificate of insurance")

    status = main(
        ["vendors", "item", "VEND-1", "insurance_certificate", "--file", str(certificate),
         "--expires-on", "2026-10-31", "--today", "2026-11-01", "--user", "pat"]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert status == 2
    assert "--expires-on" in err
    assert "insurance certificate expired on 2026-10-31, before today (2026-11-01)" in err
    assert "Record the current document" in err
    assert not OnboardingItem.objects.filter(requirement="insurance_certificate").exists()


def test_expired_w8ben_by_signing_date_refused(capsys, tmp_path, vendor):
    main(["vendors", "profile", "VEND-1", "--tax-form", "w8ben", "--user", "pat"])
    form = pdf_file(tmp_path, "w8ben.pdf", "Form W-8BEN")

    status = main(
        ["vendors", "item", "VEND-1", "tax_form", "--file", str(form), "--signed-on",
         "2022-05-02", "--today", "2026-11-01", "--user", "pat"]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert status == 2
    assert "expired on 2025-12-31 (end of the third year after its signing on 2022-05-02)" in err


def test_earlier_insurance_renewal_warned(capsys, tmp_path, vendor):
    onboard(tmp_path)
    capsys.readouterr()
    certificate = pdf_file(tmp_path, "coi-old.pdf", "Certificate of insurance")

    status = main(
        ["vendors", "item", "VEND-1", "insurance_certificate", "--file", str(certificate),
         "--expires-on", "2027-01-31", "--today", "2026-11-01", "--user", "pat"]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert status == 0
    assert "expires on 2027-01-31, earlier than the one it replaces (2027-06-30)" in err


def test_earlier_certification_renewal_warned(capsys, tmp_path, vendor):
    certify = ["vendors", "certify", "VEND-1", "--kind", "security", "--name", "ISO 27001",
               "--user", "pat", "--expires-on"]  # fmt: skip
    assert main([*certify, "2028-03-31"]) == 0
    capsys.readouterr()

    status = main([*certify, "2027-03-31"])

    err = capsys.readouterr().err
    assert status == 0
    assert "ISO 27001 certificate just recorded expires on 2027-03-31" in err
    assert "earlier than the one it replaces (2028-03-31)" in err


def test_show_merged_vendor_names_survivor(capsys, vendor):
    survivor = Party.objects.create(
        code="VEND-2", kind="vendor", name="Contoso Hosting Inc", country="US"
    )
    vendor.merged_into = survivor
    vendor.save(update_fields=["merged_into"])

    status = main(["vendors", "show", "VEND-1"])

    out = capsys.readouterr().out
    assert status == 0
    assert "merged into VEND-2 Contoso Hosting Inc" in out
    assert "billguard vendors show VEND-2" in out


def test_profile_of_merged_vendor_names_survivor(capsys, vendor):
    survivor = Party.objects.create(
        code="VEND-2", kind="vendor", name="Contoso Hosting Inc", country="US"
    )
    vendor.merged_into = survivor
    vendor.save(update_fields=["merged_into"])

    status = main(["vendors", "profile", "VEND-1", "--payment-terms", "30", "--user", "pat"])

    err = capsys.readouterr().err
    assert status == 2
    assert "vendor VEND-1 was merged into VEND-2 (Contoso Hosting Inc)" in err


def test_sweep_counts_use_plurals(capsys, vendor):
    status = main(["vendors", "sweep", "--today", "2026-11-01"])

    out = capsys.readouterr().out
    assert status == 0
    assert "0 onboarding documents and 0 certifications alerted, 0 deliveries stored" in out
    assert "(s)" not in out
