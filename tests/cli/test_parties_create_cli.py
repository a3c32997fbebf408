"""`billguard parties create | list`: a party typed by a person, checked and audited."""

from __future__ import annotations

import json

import pytest

from billguard.cli.main import main
from billguard.controls.models import AuditEntry
from billguard.registry.models import Party

pytestmark = pytest.mark.django_db(transaction=True)

CREATE = ["parties", "create", "--kind", "vendor", "--code", "VEND-011", "--country", "DE"]


def test_create_vendor_with_valid_tax_id(capsys, sample_users):
    code = main([*CREATE, "--name", "Nordlicht Hosting GmbH", "--tax-id", "DE136695976"])

    out = capsys.readouterr().out
    assert code == 0
    assert "created vendor VEND-011 Nordlicht Hosting GmbH (DE, tax ID DE136695976)" in out
    party = Party.objects.get(code="VEND-011")
    assert (party.kind, party.tax_id) == ("vendor", "DE136695976")
    entry = AuditEntry.objects.get(action="party.create")
    assert entry.actor == "fran.finance"


def test_invalid_tax_id_writes_nothing(capsys, sample_users):
    code = main([*CREATE, "--name", "Nordlicht Hosting GmbH", "--tax-id", "DE123"])

    err = capsys.readouterr().err
    assert code == 2
    assert "tax ID 'DE123' is not valid in DE" in err
    assert not Party.objects.filter(code="VEND-011").exists()
    assert not AuditEntry.objects.filter(action="party.create").exists()


def test_existing_code_is_refused(capsys, sample_users):
    main([*CREATE, "--name", "Nordlicht Hosting GmbH"])

    code = main([*CREATE, "--name", "Another Name"])

    assert code == 2
    assert "party 'VEND-011' already exists" in capsys.readouterr().err
    assert Party.objects.get(code="VEND-011").name == "Nordlicht Hosting GmbH"


def test_auditor_may_not_create(capsys, sample_users):
    code = main([*CREATE, "--name", "Nordlicht Hosting GmbH", "--user", "audrey.auditor"])

    assert code == 2
    assert "may not create a customer or vendor" in capsys.readouterr().err
    assert not Party.objects.exists()


def test_list_by_kind_as_json(capsys, sample_users):
    main([*CREATE, "--name", "Nordlicht Hosting GmbH"])
    customer = ["--kind", "customer", "--code", "CUST-1", "--name", "Contoso", "--country", "US"]
    main(["parties", "create", *customer])
    capsys.readouterr()

    code = main(["parties", "list", "--kind", "vendor", "--json"])

    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [row["code"] for row in rows] == ["VEND-011"]
