"""Listing and showing change requests; the rows are written directly, as the services would."""

import datetime as dt

import pytest
from django.contrib.auth.models import User

from billguard.cli.approvals import change_rows
from billguard.cli.main import main
from billguard.controls.models import Approval, ChangeRequest

pytestmark = pytest.mark.django_db(transaction=True)

REQUESTED_AT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def change_request(
    requester: User, *, status: str = ChangeRequest.Status.PENDING, **fields: object
) -> ChangeRequest:
    values: dict[str, object] = {
        "target": "contract",
        "target_id": "7",
        "target_label": "C-0007",
        "categories": ["price"],
        "changes": {"lines": {"L1": {"unit_price": "1100.00"}}},
        "before": {"lines": {"L1": {"unit_price": "1000.00"}}},
        "reason": "Price uplift agreed in the renewal",
        "required": [{"rule": "price-two-approvers", "role": "finance_approver", "approvals": 2}],
        "status": status,
        "requested_by": requester,
        "requested_at": REQUESTED_AT,
    }
    values.update(fields)
    return ChangeRequest.objects.create(**values)


def approval(request: ChangeRequest, approver: User, **fields: object) -> Approval:
    values: dict[str, object] = {
        "change_request": request,
        "approver": approver,
        "role": "finance_approver",
        "rule": "price-two-approvers",
        "decision": Approval.Decision.APPROVE,
        "reason": "Matches the signed renewal",
        "decided_at": REQUESTED_AT + dt.timedelta(hours=2),
    }
    values.update(fields)
    return Approval.objects.create(**values)


def table_rows(out: str) -> list[list[str]]:
    """The rows of the request table, between its header and the blank line after it."""
    table = out.split("\n\n")[0].splitlines()
    return [line.split() for line in table[1:]]


def test_list_shows_pending_only(capsys, sample_users):
    sam = sample_users["sam.sales"]
    pending = change_request(sam)
    change_request(sam, status=ChangeRequest.Status.REJECTED, target_label="C-0008")
    approval(pending, sample_users["alex.approver"])

    status = main(["approvals"])

    out = capsys.readouterr().out
    rows = table_rows(out)
    assert status == 0
    assert len(rows) == 1
    assert rows[0][:3] == [str(pending.pk), "pending", "contract"]
    assert "sam.sales" in rows[0]
    assert out.splitlines()[1].rstrip().endswith("1 of 2")
    assert "C-0008" not in out


def test_list_all_and_by_status(capsys, sample_users):
    sam = sample_users["sam.sales"]
    change_request(sam)
    rejected = change_request(sam, status=ChangeRequest.Status.REJECTED, target_label="C-0008")

    assert main(["approvals", "--all"]) == 0
    every = table_rows(capsys.readouterr().out)
    assert main(["approvals", "--status", "rejected"]) == 0
    only_rejected = table_rows(capsys.readouterr().out)

    assert len(every) == 2
    assert [row[0] for row in only_rejected] == [str(rejected.pk)]


def test_list_when_none_pending(capsys, sample_users):
    status = main(["approvals"])

    assert status == 0
    assert capsys.readouterr().out.strip() == "no pending change requests"


def test_list_unknown_status_exits_two(capsys, sample_users):
    with pytest.raises(SystemExit) as error:
        main(["approvals", "--status", "lost"])

    assert error.value.code == 2
    assert "lost" in capsys.readouterr().err


def test_show_prints_diff_and_approvals(capsys, sample_users):
    request = change_request(sample_users["sam.sales"])
    approval(
        request,
        sample_users["blake.approver"],
        on_behalf_of=sample_users["alex.approver"],
        reason="",
    )

    status = main(["approvals", "show", str(request.pk)])

    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines()]
    assert status == 0
    assert f"change request {request.pk}: contract C-0007" in out
    assert "requested by  sam.sales on 2026-11-02 09:30 via service" in out
    assert ["lines.L1.unit_price", "1000.00", "1100.00"] in lines
    assert "2 approvals from the finance approver role (rule price-two-approvers)" in out
    assert "approve blake.approver for alex.approver as finance_approver" in " ".join(out.split())
    assert "Price uplift agreed in the renewal" in out


def test_show_new_field_and_emergency(capsys, sample_users):
    request = change_request(
        sample_users["fran.finance"],
        status=ChangeRequest.Status.APPLIED,
        changes={"payment_terms_days": 45, "customer_po": "PO-1"},
        before={"payment_terms_days": 30},
        required=[],
        emergency=True,
        review_due=dt.datetime(2026, 11, 4, 9, 30, tzinfo=dt.UTC),
    )

    status = main(["approvals", "show", str(request.pk)])

    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines()]
    assert status == 0
    assert ["payment_terms_days", "30", "45"] in lines
    assert ["customer_po", "-", "PO-1"] in lines
    assert "applied at once; review due 2026-11-04 09:30" in out
    assert "approvals so far:\n  none" in out


def test_show_unknown_id_exits_two(capsys, sample_users):
    status = main(["approvals", "show", "4040"])

    err = capsys.readouterr().err
    assert status == 2
    assert "change request 4040 was not found" in err
    assert "billguard approvals --all" in err


def test_reject_needs_reason(capsys, sample_users):
    with pytest.raises(SystemExit) as error:
        main(["approvals", "reject", "1"])

    assert error.value.code == 2
    assert "--reason" in capsys.readouterr().err


def test_change_rows_flattens_nested_values():
    rows = change_rows(
        {"lines": {"L1": {"unit_price": "10"}}, "bill_to_id": 3},
        {"lines": {"L1": {"unit_price": "12"}, "L2": None}, "bill_to_id": 4},
    )

    assert rows == [
        ("lines.L1.unit_price", "10", "12"),
        ("lines.L2", "-", "(none)"),
        ("bill_to_id", "3", "4"),
    ]
