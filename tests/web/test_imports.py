"""The import pages: upload, column mapping, preview of every problem, import, and the list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billguard.controls.models import ChangeRequest
from billguard.history.models import HistoryImport, ImportedInvoice
from billguard.imports.models import ColumnMapping, ImportRun
from billguard.registry.models import Contract, Party
from tests.factories import make_seller
from tests.history.conftest import (  # noqa: F401 (book is a fixture)
    QUICKBOOKS_INVOICE_HEADER,
    Book,
    book,
    quickbooks_line,
    write_csv,
)
from tests.imports.exports import (
    csv_bytes,
    hubspot_rows,
    salesforce_rows,
    salesforce_zip,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


@pytest.fixture
def fran(signed_in, sample_users):  # type: ignore[no-untyped-def]
    make_seller()
    return signed_in("fran.finance")


def upload(client, kind: str, name: str, content: bytes, **extra):  # type: ignore[no-untyped-def]
    data = {"kind": kind, "file": SimpleUploadedFile(name, content), **extra}
    return client.post("/imports/", data)


def token_of(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r"/imports/uploads/([0-9a-f]{32})/", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def field_errors(body: str, field: str) -> str:
    """Return the error list rendered next to ``field``, empty when there is none."""
    match = re.search(
        rf'<ul class="errors" id="id_{field}_error" role="alert">(.*?)</ul>', body, re.S
    )
    return match.group(1) if match else ""


# The list and the upload form


def test_imports_page_offers_upload_form(fran) -> None:
    response = fran.get("/imports/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Imports</h1>" in body
    assert '<label for="id_kind">What the file holds' in body
    assert '<label for="id_file">File' in body
    assert "Upload and check" in body
    assert "Salesforce Data Export (ZIP)" in body
    assert "QuickBooks Online invoices (history, CSV or XLSX)" in body
    assert 'aria-current="page"' in body


def test_imports_page_forbidden_to_auditor(signed_in) -> None:
    client = signed_in("audrey.auditor")
    response = client.get("/imports/")
    assert response.status_code == 403
    assert "may not create a contract" in response.content.decode()
    posted = upload(client, "salesforce", "export.zip", salesforce_zip(salesforce_rows()))
    assert posted.status_code == 403
    assert ImportRun.objects.count() == 0


def test_sales_offered_contract_imports_only(signed_in, sample_users) -> None:
    make_seller()
    client = signed_in("sam.sales")
    body = client.get("/imports/").content.decode()
    assert "Salesforce Data Export (ZIP)" in body
    assert "QuickBooks Online invoices" not in body
    response = upload(client, "quickbooks_invoices", "invoices.csv", b"a,b\n1,2\n")
    assert response.status_code == 200
    assert "&#x27;quickbooks_invoices&#x27; is not one of the choices" in field_errors(
        response.content.decode(), "kind"
    )


def test_upload_empty_file_rejected(fran) -> None:
    response = upload(fran, "salesforce", "export.zip", b"")
    body = response.content.decode()
    assert response.status_code == 200
    assert "&#x27;export.zip&#x27; is empty (0 bytes)" in field_errors(body, "file")
    assert 'aria-invalid="true"' in body
    assert not (Path(fran_var(fran)) / "uploads").exists() or not any(
        (Path(fran_var(fran)) / "uploads").iterdir()
    )


def fran_var(client) -> Path:  # type: ignore[no-untyped-def]
    from django.conf import settings

    return Path(settings.VAR_DIR)


def test_upload_wrong_file_type_rejected(fran) -> None:
    response = upload(fran, "salesforce", "export.pdf", b"%PDF-1.7 not an export")
    assert "&#x27;export.pdf&#x27; is not a .zip file" in field_errors(
        response.content.decode(), "file"
    )
    renamed = upload(fran, "salesforce", "export.zip", b"Id,Name\n1,Globex\n")
    assert "is named .zip but is not a ZIP archive" in field_errors(
        renamed.content.decode(), "file"
    )
    workbook = upload(fran, "hubspot_companies", "companies.csv", xlsx_bytes([["a"], ["b"]]))
    assert "is named .csv but is a ZIP archive or a workbook" in field_errors(
        workbook.content.decode(), "file"
    )
    latin = upload(fran, "hubspot_companies", "companies.csv", "Name\nMüller\n".encode("latin-1"))
    assert "is not UTF-8 text" in field_errors(latin.content.decode(), "file")


def test_upload_over_size_limit_rejected(fran, settings) -> None:
    settings.BILLGUARD_IMPORT_MAX_BYTES = 1024
    response = upload(fran, "hubspot_companies", "companies.csv", b"Record ID\n" + b"1\n" * 600)
    errors = field_errors(response.content.decode(), "file")
    assert "is 1 KB; the largest file accepted here is 1 KB" in errors or "largest file" in errors
    assert "Split it" in errors


def test_upload_deals_need_companies_and_line_items(fran) -> None:
    tables = hubspot_rows()
    response = upload(fran, "hubspot_deals", "deals.csv", csv_bytes(tables["deals"]))
    body = response.content.decode()
    assert "imported with the line items it names" in field_errors(body, "line_items")
    assert "imported with the companies it names" in field_errors(body, "companies")
    extra = upload(
        fran,
        "hubspot_companies",
        "companies.csv",
        csv_bytes(tables["companies"]),
        line_items=SimpleUploadedFile("line-items.csv", csv_bytes(tables["line_items"])),
    )
    assert "Only a HubSpot deals export takes a line items file" in field_errors(
        extra.content.decode(), "line_items"
    )


# Salesforce: preview, import, import again


def test_salesforce_preview_import_and_repeat(fran) -> None:
    response = upload(fran, "salesforce", "export.zip", salesforce_zip(salesforce_rows()))
    assert response.status_code == 302
    token = token_of(response)
    stored = list((fran_var(fran) / "uploads" / token).iterdir())
    assert {path.name for path in stored} == {"export.zip", "upload.json"}

    preview = fran.get(f"/imports/uploads/{token}/")
    body = preview.content.decode()
    assert preview.status_code == 200
    assert "What the import would do" in body
    assert "would be created" in body
    assert "Would create" in body
    assert "SF-00000100" in body
    assert not Contract.objects.exists()
    assert not ImportRun.objects.filter(dry_run=False).exists()

    committed = fran.post(f"/imports/uploads/{token}/import/")
    assert committed.status_code == 302
    run = ImportRun.objects.get(dry_run=False)
    assert committed["Location"] == f"/imports/runs/{run.pk}/"
    assert Contract.objects.filter(number="SF-00000100").exists()
    assert run.created > 0
    assert not (fran_var(fran) / "uploads" / token).exists()
    page = fran.get(committed["Location"])
    assert "Imported export.zip" in page.content.decode()
    assert '<a href="/contracts/SF-00000100/">SF-00000100</a>' in page.content.decode()

    again = upload(fran, "salesforce", "export.zip", salesforce_zip(salesforce_rows()))
    second = fran.post(f"/imports/uploads/{token_of(again)}/import/", follow=True)
    assert "Nothing changed: all" in second.content.decode()
    latest = ImportRun.objects.filter(dry_run=False).first()
    assert latest is not None and latest.pk != run.pk
    assert (latest.created, latest.updated, latest.change_requests) == (0, 0, 0)
    assert Contract.objects.count() == 1

    listing = fran.get("/imports/").content.decode()
    assert f'<a href="/imports/runs/{run.pk}/">Import run {run.pk}</a>' in listing
    assert "Dry run" not in listing
    assert "Dry run" in fran.get("/imports/?dry_runs=1").content.decode()


def test_salesforce_preview_lists_row_problems(fran) -> None:
    tables = salesforce_rows()
    tables["Contract.csv"][0]["StartDate"] = "31/01/2026"
    tables["OrderItem.csv"][1]["UnitPrice"] = "-5.00"
    token = token_of(upload(fran, "salesforce", "export.zip", salesforce_zip(tables)))

    body = fran.get(f"/imports/uploads/{token}/").content.decode()

    assert "2 problems found, so nothing can be imported" in body
    rows = re.findall(
        r"<tr>\s*<td>(.*?)</td>\s*<td class=\"num\">(.*?)</td>\s*<td>(.*?)</td>", body
    )
    assert ("Contract.csv", "2", "StartDate") in rows
    assert ("OrderItem.csv", "3", "UnitPrice") in rows
    assert "<code>31/01/2026</code>" in body
    assert "&#x27;31/01/2026&#x27; is not a date." in body
    assert "Write it as YYYY-MM-DD, such as 2026-03-15." in body
    assert "Import</button>" not in body
    refused = fran.post(f"/imports/uploads/{token}/import/", follow=True)
    assert "Nothing was imported: the file has 2 problem(s)" in refused.content.decode()
    assert not Contract.objects.exists()


def test_preview_asks_for_seller_entity(fran) -> None:
    make_seller("acme-us")
    token = token_of(upload(fran, "salesforce", "export.zip", salesforce_zip(salesforce_rows())))

    body = fran.get(f"/imports/uploads/{token}/").content.decode()

    assert "1 problem found, so nothing can be imported" in body
    assert "<td>Seller entity of new contracts</td>" in body
    assert "more than one seller entity" in body
    assert "choose the seller entity of new contracts, one of: acme-de, acme-us." in body
    chosen = upload(
        fran,
        "salesforce",
        "export.zip",
        salesforce_zip(salesforce_rows()),
        seller_entity="acme-us",
    )
    preview = fran.get(chosen["Location"]).content.decode()
    assert "What the import would do" in preview


def test_upload_hidden_from_other_users(fran, signed_in) -> None:
    token = token_of(upload(fran, "salesforce", "export.zip", salesforce_zip(salesforce_rows())))
    other = signed_in("sam.sales")
    assert other.get(f"/imports/uploads/{token}/").status_code == 404
    assert other.post(f"/imports/uploads/{token}/import/").status_code == 404
    assert fran.get("/imports/uploads/not-a-token/").status_code == 404


# HubSpot: a changed quantity becomes a change request, linked from the run


def test_hubspot_change_links_change_request(fran) -> None:
    tables = hubspot_rows()

    def deals(tables):  # type: ignore[no-untyped-def]
        return upload(
            fran,
            "hubspot_deals",
            "deals.csv",
            csv_bytes(tables["deals"]),
            companies=SimpleUploadedFile("companies.csv", csv_bytes(tables["companies"])),
            line_items=SimpleUploadedFile("line-items.csv", csv_bytes(tables["line_items"])),
        )

    first = deals(tables)
    fran.post(f"/imports/uploads/{token_of(first)}/import/")
    assert Contract.objects.filter(number="HS-9001").exists()

    tables["line_items"][0]["Quantity"] = "25"
    token = token_of(deals(tables))
    preview = fran.get(f"/imports/uploads/{token}/").content.decode()
    assert "Would request a change" in preview
    assert not ChangeRequest.objects.exists()

    done = fran.post(f"/imports/uploads/{token}/import/", follow=True)
    request = ChangeRequest.objects.get()
    assert f'<a href="/approvals/{request.pk}/">change request {request.pk}</a>' in (
        done.content.decode()
    )


# A CSV or XLSX file through a saved column mapping


def customers_csv(rows: int = 1, country: str = "DE") -> bytes:
    return csv_bytes(
        [
            {
                "Kundennr": f"K{n}",
                "Firma": f"Hanse Logistik {n} GmbH",
                "Land": country,
                "Ort": "Kiel",
            }
            for n in range(1, rows + 1)
        ]
    )


def map_customers(client, token: str, **changes: str):  # type: ignore[no-untyped-def]
    data = {
        "name": "erp-customers",
        "field_external_id": "Kundennr",
        "field_name": "Firma",
        "field_country": "Land",
        "field_city": "Ort",
        **changes,
    }
    return client.post(f"/imports/uploads/{token}/mapping/", data)


def test_mapped_file_map_preview_import(fran) -> None:
    response = upload(fran, "mapped_customers", "kunden.csv", customers_csv(), source="erp")
    token = token_of(response)
    assert response["Location"] == f"/imports/uploads/{token}/mapping/"

    form = fran.get(response["Location"]).content.decode()
    assert "Map the columns of kunden.csv" in form
    assert '<label for="id_field_external_id">external id' in form
    assert '<option value="Kundennr">Kundennr</option>' in form
    assert "Save the mapping and check the file" in form

    missing = map_customers(fran, token, field_country="")
    assert "Choose the column that holds the country; customers need it." in field_errors(
        missing.content.decode(), "field_country"
    )
    twice = map_customers(fran, token, field_city="Firma")
    assert "Column &#x27;Firma&#x27; is chosen for the name already." in field_errors(
        twice.content.decode(), "field_city"
    )
    assert not ColumnMapping.objects.exists()

    saved = map_customers(fran, token)
    assert saved["Location"] == f"/imports/uploads/{token}/"
    mapping = ColumnMapping.objects.get(name="erp-customers")
    assert (mapping.source, mapping.target) == ("erp", "customers")
    assert mapping.columns == {
        "Kundennr": "external_id",
        "Firma": "name",
        "Land": "country",
        "Ort": "city",
    }
    preview = fran.get(saved["Location"]).content.decode()
    assert "Would create" in preview
    assert not Party.objects.filter(code="ERP-K1").exists()
    fran.post(f"/imports/uploads/{token}/import/")
    assert Party.objects.get(code="ERP-K1").name == "Hanse Logistik 1 GmbH"

    # The next file from the same source finds the saved mapping filled in.
    again = token_of(upload(fran, "mapped_customers", "kunden.csv", customers_csv(), source="erp"))
    form = fran.get(f"/imports/uploads/{again}/mapping/").content.decode()
    assert "filled in from the mapping <strong>erp-customers</strong>" in form
    assert '<option value="Kundennr" selected>Kundennr</option>' in form
    map_customers(fran, again)
    second = fran.post(f"/imports/uploads/{again}/import/", follow=True)
    assert "Nothing changed: all 1 records" in second.content.decode()


def test_upload_mapped_file_needs_source(fran) -> None:
    response = upload(fran, "mapped_customers", "kunden.csv", customers_csv())
    assert "Name the system the file comes from" in field_errors(
        response.content.decode(), "source"
    )


def test_preview_pages_through_problems(fran) -> None:
    content = customers_csv(rows=120, country="Atlantis")
    token = token_of(upload(fran, "mapped_customers", "kunden.csv", content, source="erp"))
    map_customers(fran, token)

    first = fran.get(f"/imports/uploads/{token}/").content.decode()
    assert "120 problems found" in first
    assert "Problems 1 to 50 of 120" in first
    assert first.count("<code>Atlantis</code>") == 50
    assert 'href="?page=2" rel="next">Next page</a>' in first

    last = fran.get(f"/imports/uploads/{token}/?page=3").content.decode()
    assert "Problems 101 to 120 of 120" in last
    assert last.count("<code>Atlantis</code>") == 20
    rows = re.findall(r"<td>kunden\.csv</td>\s*<td class=\"num\">(\d+)</td>\s*<td>Land</td>", last)
    assert rows[-1] == "121"

    partial = fran.get(
        f"/imports/uploads/{token}/?page=2&part=table", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Problems 51 to 100 of 120" in partial
    assert partial.lstrip().startswith('<div id="preview-table" hx-boost="true"')
    assert "<h1>" not in partial


# Accounting history: QuickBooks Online invoices


def test_quickbooks_history_preview_and_import(
    fran,
    book: Book,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    path = write_csv(
        tmp_path / "invoices.csv",
        QUICKBOOKS_INVOICE_HEADER,
        [
            quickbooks_line("1001", "Northwind Traders GmbH"),
            quickbooks_line("1004", "Unknown Buyer LLC"),
        ],
    )
    token = token_of(upload(fran, "quickbooks_invoices", "invoices.csv", path.read_bytes()))

    preview = fran.get(f"/imports/uploads/{token}/").content.decode()
    assert "would be created" in preview
    assert "no customer is named or coded &#x27;Unknown Buyer LLC&#x27;" in preview
    assert not ImportedInvoice.objects.exists()

    done = fran.post(f"/imports/uploads/{token}/import/")
    batch = HistoryImport.objects.get()
    assert done["Location"] == f"/imports/history/{batch.pk}/"
    assert ImportedInvoice.objects.count() == 2
    assert "Imported invoices.csv: 2 created" in fran.get(done["Location"]).content.decode()

    again = token_of(upload(fran, "quickbooks_invoices", "invoices.csv", path.read_bytes()))
    second = fran.post(f"/imports/uploads/{again}/import/", follow=True)
    assert "Nothing changed: all 2 records" in second.content.decode()
    assert HistoryImport.objects.count() == 1

    listing = fran.get("/imports/").content.decode()
    assert f'<a href="/imports/history/{batch.pk}/">History import {batch.pk}</a>' in listing
    assert "QuickBooks Online history" in listing


def test_quickbooks_preview_names_bad_value(fran, book: Book, tmp_path: Path) -> None:  # noqa: F811
    path = write_csv(
        tmp_path / "invoices.csv",
        QUICKBOOKS_INVOICE_HEADER,
        [quickbooks_line("1001", "Northwind Traders GmbH", date="31/12/2026")],
    )
    token = token_of(upload(fran, "quickbooks_invoices", "invoices.csv", path.read_bytes()))
    body = fran.get(f"/imports/uploads/{token}/").content.decode()
    assert "problem found, so nothing can be imported" in body
    assert "<code>31/12/2026</code>" in body
    assert re.search(r"<td>invoices\.csv</td>\s*<td class=\"num\">2</td>", body)


def test_imports_list_query_count_fixed(fran, django_assert_max_num_queries) -> None:
    for _ in range(3):
        token = token_of(
            upload(fran, "salesforce", "export.zip", salesforce_zip(salesforce_rows()))
        )
        fran.get(f"/imports/uploads/{token}/")
        fran.post(f"/imports/uploads/{token}/import/")
    with django_assert_max_num_queries(12):
        response = fran.get("/imports/?dry_runs=1")
    assert response.content.decode().count("Import run ") == 6
