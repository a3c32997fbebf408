"""``billguard payments``, ``disputes`` and ``receivables`` from the command line."""

import csv
import io
import json

import pytest

from billguard.cli.main import EXIT_BAD_INPUT, EXIT_OK, main
from billguard.receivables.models import Dispute, Payment
from tests.receivables.conftest import Receivables

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "external_id,customer,bill_to,received_on,currency,amount,method,reference\n"


def run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    status = main(["--user", "fran", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_record_and_list(receivables: Receivables, capsys):
    status, out, _ = run(
        capsys,
        "payments",
        "record",
        "--customer",
        "CUST-1",
        "--currency",
        "EUR",
        "--amount",
        "1200.00",
        "--received-on",
        "2026-11-02",
        "--reference",
        "ADE-000002",
    )

    assert status == EXIT_OK
    assert "matched by reference" in out
    assert "ADE-000002" in out
    assert "10.00 EUR" in out
    status, out, _ = run(capsys, "payments", "list", "--unapplied")
    assert status == EXIT_OK
    assert "ADE-000002 1190.00 EUR" in out


def test_record_unknown_customer(receivables: Receivables, capsys):
    status, _, err = run(
        capsys,
        "payments",
        "record",
        "--customer",
        "NOPE",
        "--currency",
        "EUR",
        "--amount",
        "1",
        "--received-on",
        "2026-11-02",
    )

    assert status == EXIT_BAD_INPUT
    assert "customer 'NOPE' was not found" in err


def test_import_dry_run_then_import_twice(receivables: Receivables, capsys, tmp_path):
    path = tmp_path / "payments.csv"
    path.write_text(
        HEADER
        + "TX-1,CUST-1,,2026-10-01,EUR,1190.00,bank_transfer,ADE-000001\n"
        + "TX-2,CUST-1,CUST-1-BT,2026-11-02,EUR,500.00,,part of ADE-000002\n"
    )

    status, out, _ = run(capsys, "payments", "import", str(path), "--source", "bank", "--dry-run")
    assert status == EXIT_OK
    assert "2 payment(s) valid" in out
    assert Payment.objects.count() == 0

    status, out, _ = run(capsys, "payments", "import", str(path), "--source", "bank")
    assert status == EXIT_OK
    assert "imported 2 payment(s)" in out
    status, out, _ = run(capsys, "payments", "import", str(path), "--source", "bank")
    assert "imported 0 payment(s)" in out
    assert "2 already recorded" in out
    assert Payment.objects.count() == 2


def test_import_reports_every_bad_row(receivables: Receivables, capsys, tmp_path):
    path = tmp_path / "payments.csv"
    path.write_text(
        HEADER
        + "TX-1,CUST-1,,2026-10-01,EUR,1190.00,,ADE-000001\n"
        + "TX-2,CUST-9,,2026-13-02,EUR,5.001,,\n"
        + "TX-3,CUST-1,,2026-11-02,EURO,5,,\n"
        + "TX-3,CUST-1,,2026-11-02,EUR,5,,\n"
    )

    status, _, err = run(capsys, "payments", "import", str(path), "--source", "bank")

    assert status == EXIT_BAD_INPUT
    assert "nothing was recorded" in err
    assert "payments.csv, row 3, column customer" in err
    assert "payments.csv, row 3, column received_on" in err
    assert "payments.csv, row 3, column amount" in err
    assert "payments.csv, row 4, column currency" in err
    assert "payments.csv, row 5, column external_id" in err
    assert Payment.objects.count() == 0


def test_import_bad_header(receivables: Receivables, capsys, tmp_path):
    path = tmp_path / "payments.csv"
    path.write_text("id,customer,amount\n1,CUST-1,5\n")

    status, _, err = run(capsys, "payments", "import", str(path), "--source", "bank")

    assert status == EXIT_BAD_INPUT
    assert "unknown column(s) id" in err
    assert "missing column(s) external_id, received_on, currency" in err


def test_allocate_command(receivables: Receivables, capsys):
    run(
        capsys,
        "payments",
        "record",
        "--customer",
        "CUST-1",
        "--currency",
        "EUR",
        "--amount",
        "100.00",
        "--received-on",
        "2026-11-02",
    )
    payment = Payment.objects.get()

    status, out, _ = run(
        capsys,
        "payments",
        "allocate",
        str(payment.pk),
        "--invoice",
        "ADE-000003",
        "--amount",
        "100.00",
    )

    assert status == EXIT_OK
    assert "applies 100.00 EUR to invoice ADE-000003" in out


def test_dispute_open_resolve_list(receivables: Receivables, capsys):
    status, out, _ = run(
        capsys,
        "disputes",
        "open",
        "ADE-000001",
        "--reason",
        "wrong_price",
        "--amount",
        "119.00",
        "--check",
        "PRICE_MISMATCH",
        "--date",
        "2026-09-10",
    )
    assert status == EXIT_OK
    dispute = Dispute.objects.get()

    status, out, _ = run(
        capsys,
        "disputes",
        "resolve",
        str(dispute.pk),
        "--reissue",
        "--note",
        "Corrected",
        "--date",
        "2026-09-20",
    )
    assert status == EXIT_OK
    assert "credit note ADE-000004" in out
    assert "reissued as invoice ADE-000005" in out

    status, out, _ = run(capsys, "disputes", "list", "--status", "resolved")
    assert "PRICE_MISMATCH" in out
    assert "reissue ADE-000005" in out


def test_dispute_bad_reason(receivables: Receivables, capsys):
    status, _, err = run(
        capsys, "disputes", "open", "ADE-000001", "--reason", "pricey", "--amount", "1"
    )

    assert status == EXIT_BAD_INPUT
    assert "'pricey' is not a dispute reason" in err


def test_ageing_formats(receivables: Receivables, capsys):
    status, out, _ = run(capsys, "receivables", "ageing", "--as-of", "2026-11-30")
    assert status == EXIT_OK
    assert "CUST-1" in out

    status, out, _ = run(
        capsys, "receivables", "ageing", "--as-of", "2026-11-30", "--format", "json"
    )
    assert json.loads(out)["totals"][0]["total"] == "3570.00"

    status, out, _ = run(
        capsys, "receivables", "ageing", "--as-of", "2026-11-30", "--format", "csv"
    )
    first = next(csv.DictReader(io.StringIO(out)))
    assert first["31-60"] == "1190.00"


def test_invoices_status_and_kpis(receivables: Receivables, capsys):
    run(
        capsys,
        "payments",
        "record",
        "--customer",
        "CUST-1",
        "--currency",
        "EUR",
        "--amount",
        "1190.00",
        "--received-on",
        "2026-09-20",
        "--reference",
        "ADE-000001",
    )

    status, out, _ = run(capsys, "receivables", "invoices", "--as-of", "2026-11-15")
    assert status == EXIT_OK
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert lines["ADE-000001"].endswith("paid")
    assert lines["ADE-000002"].endswith("overdue")
    assert lines["ADE-000003"].endswith("open")

    status, out, _ = run(capsys, "receivables", "kpis", "--period", "2026-11", "--json")
    data = json.loads(out)
    # Open on 11-30: ADE-000002 and ADE-000003, 2380.00; sales 1190.00: 2380 / 1190 x 30.
    assert data["dso_days"] == {"EUR": "60.0"}
    assert data["invoice_dispute_rate"] == "0.0000"
