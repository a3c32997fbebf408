"""The ``billguard parties merge`` and ``parties merges list`` commands."""

from __future__ import annotations

import json
import re

import pytest

from billguard.cli.main import main
from billguard.controls.models import ChangeRequest
from billguard.controls.policy_yaml import policy_seed
from billguard.registry.models import Contract, Party, PartyMerge
from billguard.registry.services.parties import party_create
from tests.registry.merge_setup import duplicate_customers

pytestmark = pytest.mark.django_db(transaction=True)

REASON = "Same VAT ID, entered twice by sales"


def request_id(out: str) -> int:
    found = re.search(r"change request (\d+):", out)
    assert found, out
    return int(found.group(1))


def test_merge_prints_request_and_approvals(capsys, sample_users):
    policy_seed()
    customers = duplicate_customers()

    status = main(["parties", "merge", "CUST-100", "CUST-200", "--reason", REASON])
    out = capsys.readouterr().out

    request = ChangeRequest.objects.get(pk=request_id(out))
    assert status == 0
    assert request.requested_by.get_username() == "fran.finance"
    assert request.channel == "cli"
    assert "merge CUST-200 Northwind Traders GmbH into CUST-100" in out
    assert (
        "approvals needed: 1 approval from any approver (finance approver or administrator)" in out
    )
    assert f"billguard approvals approve {request.pk}" in out
    assert Party.objects.get(pk=customers.merged.pk).merged_into_id is None


def test_approve_then_undo_from_command_line(capsys, sample_users):
    policy_seed()
    customers = duplicate_customers()
    main(["parties", "merge", "CUST-100", "CUST-200", "--reason", REASON])
    request = request_id(capsys.readouterr().out)

    approved = main(["approvals", "approve", str(request), "--user", "alex.approver"])
    capsys.readouterr()
    merge = PartyMerge.objects.get(change_request_id=request)
    merged_contract = Contract.objects.get(pk=customers.merged_contract.pk)
    undo = ["parties", "merge", "undo", str(merge.pk), "--reason", "Two entities of one group"]
    undone = main([*undo, "--user", "blake.approver"])
    out = capsys.readouterr().out

    assert approved == 0
    assert merged_contract.party_id == customers.survivor.pk
    assert undone == 0
    assert f"undid merge {merge.pk}: CUST-200 is active again" in out
    assert Contract.objects.get(pk=customers.merged_contract.pk).party_id == customers.merged.pk
    assert PartyMerge.objects.get(pk=merge.pk).undone_by == "blake.approver"


def test_merges_list_json(capsys, sample_users):
    policy_seed()
    duplicate_customers()
    main(["parties", "merge", "CUST-100", "CUST-200", "--reason", REASON])
    request = request_id(capsys.readouterr().out)
    main(["approvals", "approve", str(request), "--user", "alex.approver"])
    capsys.readouterr()

    status = main(["parties", "merges", "list", "--json"])
    merges = json.loads(capsys.readouterr().out)

    assert status == 0
    assert len(merges) == 1
    assert merges[0]["survivor"] == "CUST-100"
    assert merges[0]["merged"] == "CUST-200"
    assert merges[0]["change_request"] == request
    assert merges[0]["merged_by"] == "alex.approver"
    assert merges[0]["undone_at"] is None
    assert merges[0]["repointed"]["registry.contract.party"] == 1


def test_merges_list_table(capsys, sample_users):
    policy_seed()
    duplicate_customers()
    main(["parties", "merge", "CUST-100", "CUST-200", "--reason", REASON])
    request = request_id(capsys.readouterr().out)
    main(["approvals", "approve", str(request), "--user", "alex.approver"])
    capsys.readouterr()

    status = main(["parties", "merges", "list"])
    out = capsys.readouterr().out

    assert status == 0
    assert re.search(r"^\s+\d+\s+CUST-200\s+CUST-100\s+" + str(request), out, re.MULTILINE)
    assert "registry.contract.party 1" in out


def test_merges_list_empty(capsys, sample_users):
    status = main(["parties", "merges", "list"])

    assert status == 0
    assert "no party merges" in capsys.readouterr().out


def test_unknown_party_exits_2(capsys, sample_users):
    duplicate_customers()

    status = main(["parties", "merge", "CUST-100", "CUST-999", "--reason", REASON])
    err = capsys.readouterr().err

    assert status == 2
    assert "MERGED: party 'CUST-999' was not found" in err
    assert not ChangeRequest.objects.exists()


def test_other_country_exits_2_until_allowed(capsys, sample_users):
    policy_seed()
    duplicate_customers()
    party_create(code="CUST-AT", kind="customer", name="Northwind", country="AT")

    refused = main(["parties", "merge", "CUST-100", "CUST-AT", "--reason", REASON])
    err = capsys.readouterr().err
    allowed = main(
        ["parties", "merge", "CUST-100", "CUST-AT", "--reason", REASON, "--across-countries"]
    )

    assert refused == 2
    assert "--across-countries" in err
    assert allowed == 0
    assert ChangeRequest.objects.get().changes["across_countries"] is True


def test_sales_user_cannot_request_merge(capsys, sample_users):
    duplicate_customers()

    status = main(
        ["parties", "merge", "CUST-100", "CUST-200", "--reason", REASON, "--user", "sam.sales"]
    )

    assert status == 2
    assert "sam.sales" in capsys.readouterr().err
    assert not ChangeRequest.objects.exists()


def test_undo_with_bad_merge_id_exits_2(capsys, sample_users):
    status = main(["parties", "merge", "undo", "last", "--reason", "mistake"])

    assert status == 2
    assert "MERGE_ID: 'last' is not a merge id" in capsys.readouterr().err


def test_merge_without_reason_exits_2(capsys, sample_users):
    with pytest.raises(SystemExit) as stopped:
        main(["parties", "merge", "CUST-100", "CUST-200"])

    assert stopped.value.code == 2
    assert "--reason" in capsys.readouterr().err
