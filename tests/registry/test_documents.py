import datetime as dt
import hashlib

import pytest
from lxml import etree

from billguard.billing.documents import document_from_invoice
from billguard.billing.models import Invoice
from billguard.billing.run import billing_run_execute
from billguard.billing.selectors import invoice_for_output
from billguard.controls.models import AuditEntry, PolicySetting
from billguard.controls.verify import audit_verify
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound
from billguard.domain.periods import parse_period
from billguard.einvoice.validation import has_fatal, validate_ubl
from billguard.registry.models import ContractVersion
from billguard.registry.services.documents import document_read, document_store
from billguard.sample.pdf import text_pdf
from tests.acting_users import make_user
from tests.factories import make_contract
from tests.registry.test_sniffing import XLSX_BYTES

pytestmark = pytest.mark.django_db

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def test_document_store_records_type_and_user():
    finance = make_user("fiona", "finance")
    content = text_pdf("Statement of work C-9")

    document = document_store(
        content=content,
        kind="sow",
        family="SOW-C-9",
        title="SOW C-9",
        file_name="SOW-C-9.pdf",
        signed_on=dt.date(2026, 1, 5),
        signer="Jane Buyer",
        by=finance,
    )

    assert document.content_type == "application/pdf"
    assert document.stored_by == "fiona"
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.storage_path == f"{document.sha256[:2]}/{document.sha256}"
    assert document_read(document) == content


def test_document_store_writes_audit_entry():
    finance = make_user("fiona", "finance")
    content = text_pdf("Statement of work C-10")

    document = document_store(
        content=content,
        kind="sow",
        family="SOW-C-10",
        title="SOW C-10",
        file_name="SOW-C-10.pdf",
        signed_on=dt.date(2026, 1, 5),
        signer="Jane Buyer",
        by=finance,
    )

    entry = AuditEntry.objects.get(action="document.store")
    assert entry.actor == "fiona"
    assert entry.record_type == "registry.document"
    assert entry.record_id == str(document.pk)
    assert entry.before is None
    assert entry.after == {
        "family": "SOW-C-10",
        "revision": 1,
        "kind": "sow",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "content_type": "application/pdf",
        "signer": "Jane Buyer",
        "signed_on": "2026-01-05",
        "stored_by": "fiona",
    }
    assert audit_verify().intact


def test_document_store_without_user_audits_system():
    first = document_store(content=text_pdf("Rates 1"), kind="rate_card", family="RC-9", title="R")
    second = document_store(content=text_pdf("Rates 2"), kind="rate_card", family="RC-9", title="R")

    entries = list(AuditEntry.objects.filter(action="document.store").order_by("sequence"))
    assert [e.actor for e in entries] == ["system", "system"]
    assert [e.record_id for e in entries] == [str(first.pk), str(second.pk)]
    assert [e.after["revision"] for e in entries] == [1, 2]
    assert [e.after["stored_by"] for e in entries] == ["", ""]
    assert [e.after["signed_on"] for e in entries] == [None, None]


def test_rejected_document_writes_no_audit_entry():
    auditor = make_user("audrey", "auditor")

    with pytest.raises(NotAllowed):
        document_store(content=text_pdf("SOW"), kind="sow", family="SOW-A", title="SOW", by=auditor)

    assert not AuditEntry.objects.filter(action="document.store").exists()


def test_document_store_checks_permission():
    auditor = make_user("audrey", "auditor")

    with pytest.raises(NotAllowed) as error:
        document_store(content=text_pdf("SOW"), kind="sow", family="SOW-A", title="SOW", by=auditor)

    assert "audrey" in str(error.value)


def test_pdf_name_with_text_content_is_rejected():
    with pytest.raises(InvalidInput) as error:
        document_store(
            content=b"Statement of work, typed in a text editor.",
            kind="sow",
            family="SOW-T",
            title="SOW T",
            file_name="SOW-T.pdf",
        )

    message = str(error.value)
    assert "'SOW-T.pdf'" in message
    assert "plain text" in message
    assert "text/plain" in message
    assert error.value.fix is not None
    assert "rename" in error.value.fix
    assert error.value.value == "text/plain"


def test_kind_rejects_type_it_does_not_allow():
    with pytest.raises(InvalidInput) as error:
        document_store(
            content=b"form,number\nW-9,12-3456789\n",
            kind="tax_form",
            family="TAX-1",
            title="W-9",
            file_name="w9.csv",
        )

    assert "CSV" in str(error.value)
    assert "tax_form" in str(error.value)
    assert error.value.fix is not None
    assert "PDF" in error.value.fix


def test_allowed_types_come_from_settings(settings):
    settings.DOCUMENT_ALLOWED_TYPES = {"tax_form": ["text/csv"]}

    document = document_store(
        content=b"form,number\nW-9,12-3456789\n",
        kind="tax_form",
        family="TAX-2",
        title="W-9",
        file_name="w9.csv",
    )

    assert document.content_type == "text/csv"


def test_rate_card_accepts_xlsx():
    document = document_store(
        content=XLSX_BYTES, kind="rate_card", family="RC-1", title="Rates", file_name="r.xlsx"
    )

    assert document.content_type.endswith("spreadsheetml.sheet")


def test_size_limit_comes_from_policy():
    PolicySetting.objects.create(key="document_max_bytes", value=100)

    with pytest.raises(InvalidInput) as error:
        document_store(content=b"x" * 101, kind="sow", family="SOW-B", title="SOW B")

    assert "101 bytes" in str(error.value)
    assert "100" in str(error.value)


def test_replacing_document_keeps_old_revision():
    first = document_store(
        content=text_pdf("SOW revision 1"), kind="sow", family="SOW-R", title="SOW R"
    )
    second = document_store(
        content=text_pdf("SOW revision 2"), kind="sow", family="SOW-R", title="SOW R"
    )

    assert (first.revision, second.revision) == (1, 2)
    assert first.storage_path != second.storage_path
    assert document_read(first) == text_pdf("SOW revision 1")
    assert document_read(second) == text_pdf("SOW revision 2")


def test_insurance_certificate_needs_expiry():
    with pytest.raises(InvalidInput) as error:
        document_store(
            content=text_pdf("Certificate of insurance"),
            kind="insurance_certificate",
            family="COI-1",
            title="COI",
        )

    assert error.value.place == "expires_on"


def test_insurance_certificate_stores_expiry():
    document = document_store(
        content=text_pdf("Certificate of insurance"),
        kind="insurance_certificate",
        family="COI-2",
        title="COI",
        expires_on=dt.date(2027, 6, 30),
    )

    document.refresh_from_db()
    assert document.expires_on == dt.date(2027, 6, 30)


def test_sow_rejects_expiry_date():
    with pytest.raises(InvalidInput) as error:
        document_store(
            content=text_pdf("SOW"),
            kind="sow",
            family="SOW-E",
            title="SOW",
            expires_on=dt.date(2027, 1, 1),
        )

    assert error.value.place == "expires_on"


def test_document_storage_follows_settings(settings, tmp_path):
    location = tmp_path / "elsewhere"
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }

    document = document_store(content=text_pdf("SOW"), kind="sow", family="SOW-S", title="S")

    assert (location / document.storage_path).read_bytes() == text_pdf("SOW")


def test_document_read_reports_missing_file(var_dir):
    document = document_store(content=text_pdf("SOW"), kind="sow", family="SOW-M", title="M")
    (var_dir / "documents" / document.storage_path).unlink()

    with pytest.raises(NotFound) as error:
        document_read(document)

    assert "SOW-M rev 1" in str(error.value)


@pytest.mark.django_db(transaction=True)
def test_issued_invoice_records_terms_document(var_dir):
    setup = make_contract()
    version = ContractVersion.objects.get(contract=setup.contract)
    # A newer revision of the SOW that the version does not point at must not be recorded.
    document_store(content=text_pdf("SOW rev 2"), kind="sow", family="SOW-C-1", title="SOW")

    billing_run_execute(period=parse_period("2026-11"))

    invoice = Invoice.objects.get()
    assert invoice.terms_document_id == version.sow_document_id
    xml = (var_dir / "invoices" / "acme-de" / f"{invoice.number}.xml").read_bytes()
    root = etree.fromstring(xml)
    references = root.findall(f"{{{CAC}}}AdditionalDocumentReference")
    assert len(references) == 1
    assert references[0].findtext(f"{{{CBC}}}ID") == "SOW-C-1 rev 1"
    description = references[0].findtext(f"{{{CBC}}}DocumentDescription")
    assert version.sow_document.sha256 in description
    assert not has_fatal(validate_ubl(xml))


@pytest.mark.django_db(transaction=True)
def test_held_invoice_without_sow_has_no_terms_document():
    make_contract(sow_document_id=None)
    billing_run_execute(period=parse_period("2026-11"))

    invoice = invoice_for_output(Invoice.objects.get().pk)

    assert invoice.terms_document is None
    assert document_from_invoice(invoice).supporting_documents == []
