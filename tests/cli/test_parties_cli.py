"""`billguard parties duplicates scan | list | dismiss`."""

from __future__ import annotations

import json

import pytest

from billguard.cli.main import main
from billguard.registry.models import DuplicateCandidate
from tests.factories import make_customer

pytestmark = pytest.mark.django_db(transaction=True)


def twin_customers() -> None:
    make_customer("CUST-1", name="Contoso Incorporated", tax_id="", country="US")
    make_customer("CUST-2", name="CONTOSO, Inc.", tax_id="", country="US")
    make_customer("CUST-3", name="Trey Research AG", tax_id="DE129273398", postcode="10117")


def test_scan_then_list_shows_the_pair(capsys, sample_users):
    twin_customers()

    scanned = main(["parties", "duplicates", "scan", "--kind", "customer"])
    listed = main(["parties", "duplicates", "list"])

    out = capsys.readouterr().out
    assert (scanned, listed) == (0, 0)
    assert (
        "scanned 3 parties (customer) at match probability >= 0.7: 1 likely duplicate pair\n" in out
    )
    assert "CUST-1 Contoso Incorporated" in out
    assert "CUST-2 CONTOSO, Inc." in out
    assert "1 open candidate" in out


def test_list_json(capsys, sample_users):
    twin_customers()
    main(["parties", "duplicates", "scan"])
    capsys.readouterr()

    status = main(["parties", "duplicates", "list", "--json"])

    rows = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [(r["party"]["code"], r["other_party"]["code"]) for r in rows] == [("CUST-1", "CUST-2")]
    assert rows[0]["status"] == "open"
    assert float(rows[0]["match_probability"]) >= 0.7
    assert rows[0]["reason"].startswith("match probability")


def test_dismiss_hides_pair_from_open_list(capsys, sample_users):
    twin_customers()
    main(["parties", "duplicates", "scan"])
    candidate = DuplicateCandidate.objects.get()

    status = main(
        ["parties", "duplicates", "dismiss", str(candidate.pk), "--reason", "Two entities"]
    )
    main(["parties", "duplicates", "list"])

    out = capsys.readouterr().out
    assert status == 0
    assert f"dismissed duplicate candidate {candidate.pk}" in out
    assert "no open candidates" in out
    assert DuplicateCandidate.objects.get().decided_by == "fran.finance"


def test_scan_without_user_exits_two(capsys, monkeypatch, sample_users):
    monkeypatch.delenv("BILLGUARD_USER")
    twin_customers()

    status = main(["parties", "duplicates", "scan"])

    assert status == 2
    assert "needs the acting user" in capsys.readouterr().err
    assert not DuplicateCandidate.objects.exists()


def test_scan_by_sales_user_is_refused(capsys, sample_users):
    twin_customers()

    status = main(["--user", "sam.sales", "parties", "duplicates", "scan"])

    assert status == 2
    assert "may not find likely duplicate parties" in capsys.readouterr().err
    assert not DuplicateCandidate.objects.exists()


def test_scan_with_bad_threshold_exits_two(capsys, sample_users):
    twin_customers()

    status = main(["parties", "duplicates", "scan", "--threshold", "2"])

    assert status == 2
    assert "--threshold" in capsys.readouterr().err


def test_dismiss_unknown_id_exits_two(capsys, sample_users):
    status = main(["parties", "duplicates", "dismiss", "42", "--reason", "Two entities"])

    assert status == 2
    assert "duplicate candidate 42 was not found" in capsys.readouterr().err
