"""``billguard cost-links``: create, list, changes, agreement-revision, approve-difference."""

import json
from decimal import Decimal

import pytest

from billguard.cli.main import main
from billguard.controls.models import ChangeRequest
from billguard.procurement.models import CostChange, CostLink
from billguard.registry.models import Document
from billguard.registry.services.documents import document_store
from billguard.sample.pdf import text_pdf
from tests.factories import make_contract
from tests.procurement.passthrough_setup import (
    PLUS_COST,
    linked_at_cost,
    linked_cost_plus,
    make_order_line,
    make_vendor,
    monthly_line,
    reprice,
)

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


def cli(*arguments: str) -> int:
    return main(list(arguments))


def test_create_cost_plus_link(capsys, sample_users):
    make_contract("C-7", lines=[monthly_line()])
    vendor = make_vendor()
    make_order_line(vendor, PLUS_COST, number="PO-7")

    status = cli(
        "cost-links", "create", "C-7", "L1", "--basis", "cost_plus", "--vendor", "VEND-1",
        "--order", "PO-7", "--order-line", "1", "--margin", "25", "--user", "pat.procurement",
    )  # fmt: skip

    assert status == 0
    link = CostLink.objects.get()
    assert link.margin_percent == D("25")
    assert link.created_by == "pat.procurement"
    assert "contract C-7 line L1 cost_plus + 25% from VEND-1" in capsys.readouterr().out


def test_create_with_wrong_margin_exits_two(capsys, sample_users):
    make_contract("C-7", lines=[monthly_line()])
    make_order_line(make_vendor(), PLUS_COST, number="PO-7")

    status = cli(
        "cost-links", "create", "C-7", "L1", "--basis", "cost_plus", "--vendor", "VEND-1",
        "--order", "PO-7", "--order-line", "1", "--margin", "20", "--user", "pat.procurement",
    )  # fmt: skip

    assert status == 2
    assert "960.00" in capsys.readouterr().err
    assert not CostLink.objects.exists()


def test_create_with_bad_margin_text_exits_two(capsys, sample_users):
    make_contract("C-7", lines=[monthly_line()])
    make_order_line(make_vendor(), PLUS_COST, number="PO-7")

    status = cli(
        "cost-links", "create", "C-7", "L1", "--basis", "cost_plus", "--vendor", "VEND-1",
        "--order", "PO-7", "--order-line", "1", "--margin", "25%", "--user", "pat.procurement",
    )  # fmt: skip

    assert status == 2
    assert "--margin" in capsys.readouterr().err


def test_create_with_order_but_no_line_exits_two(capsys, sample_users):
    make_contract("C-7", lines=[monthly_line()])
    make_order_line(make_vendor(), PLUS_COST, number="PO-7")

    status = cli(
        "cost-links", "create", "C-7", "L1", "--basis", "at_cost", "--vendor", "VEND-1",
        "--order", "PO-7", "--user", "pat.procurement",
    )  # fmt: skip

    assert status == 2
    assert "--order-line" in capsys.readouterr().err


def test_create_by_sales_exits_two(capsys, sample_users):
    make_contract("C-7", lines=[monthly_line()])
    make_order_line(make_vendor(), D("1000.00"), number="PO-7")

    status = cli(
        "cost-links", "create", "C-7", "L1", "--basis", "at_cost", "--vendor", "VEND-1",
        "--order", "PO-7", "--order-line", "1", "--user", "sam.sales",
    )  # fmt: skip

    assert status == 2
    assert "sam.sales" in capsys.readouterr().err


def test_list_json(capsys, sample_users):
    linked_at_cost("C-1")
    linked_cost_plus("C-2")

    status = cli("cost-links", "list", "--json")

    rows = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [(row["contract"], row["basis"]) for row in rows] == [
        ("C-1", "at_cost"),
        ("C-2", "cost_plus"),
    ]
    assert rows[1]["margin_percent"] == "25.0000"


def test_changes_open_lists_only_open(capsys, sample_users):
    first = linked_at_cost("C-1")
    second = linked_cost_plus("C-2")
    reprice(first.po_line, D("1080.00"))
    reprice(second.po_line, D("840.00"))
    CostChange.objects.filter(link=first.link).update(status="approved")

    status = cli("cost-links", "changes", "--open", "--json")

    rows = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [(row["contract"], row["new_cost"]) for row in rows] == [("C-2", "840.000000")]


def test_changes_table(capsys, sample_users):
    linked = linked_at_cost("C-1")
    reprice(linked.po_line, D("1080.00"))

    status = cli("cost-links", "changes")

    out = capsys.readouterr().out
    assert status == 0
    assert "1000 -> 1080" in out
    assert "PO-C-1 rev 2" in out


def store_agreement(revision: int) -> None:
    document_store(
        content=text_pdf(f"Operations agreement revision {revision}"),
        kind=Document.Kind.VENDOR_AGREEMENT,
        family="VA-OPS",
        title="Operations agreement",
    )


def test_agreement_revision_opens_changes(capsys, sample_users):
    make_contract("C-9", lines=[monthly_line()])
    make_vendor()
    store_agreement(1)
    created = cli(
        "cost-links", "create", "C-9", "L1", "--basis", "at_cost", "--vendor", "VEND-1",
        "--agreement", "VA-OPS", "--cost", "1000.00", "--user", "pat.procurement",
    )  # fmt: skip
    store_agreement(2)

    status = cli(
        "cost-links", "agreement-revision", "VA-OPS", "--cost", "1040",
        "--user", "pat.procurement",
    )  # fmt: skip

    assert created == 0
    assert status == 0
    change = CostChange.objects.get()
    assert change.reference == "VA-OPS rev 2"
    assert "contract C-9 line L1 1000 -> 1040" in capsys.readouterr().out


def test_approve_difference_then_approve_request(capsys, sample_users):
    linked = linked_at_cost("C-1")
    reprice(linked.po_line, D("1080.00"))
    change = CostChange.objects.get()

    status = cli(
        "cost-links", "approve-difference", str(change.pk), "--reason", "Absorbed this year",
        "--user", "pat.procurement",
    )  # fmt: skip
    request = ChangeRequest.objects.get(target="cost_change")
    approved = cli("approvals", "approve", str(request.pk), "--user", "alex.approver")

    assert status == 0
    assert approved == 0
    assert f"change request {request.pk} waits for approval" in capsys.readouterr().out
    change.refresh_from_db()
    assert change.status == "approved"
    assert change.resolved_by == "alex.approver"


def test_approve_difference_without_reason_exits_two(capsys, sample_users):
    linked = linked_at_cost("C-1")
    reprice(linked.po_line, D("1080.00"))

    with pytest.raises(SystemExit) as exited:
        cli(
            "cost-links", "approve-difference", str(CostChange.objects.get().pk),
            "--user", "pat.procurement",
        )  # fmt: skip

    assert exited.value.code == 2
    assert "--reason" in capsys.readouterr().err


def test_approve_unknown_change_exits_two(capsys, sample_users):
    status = cli(
        "cost-links", "approve-difference", "42", "--reason", "x", "--user", "pat.procurement"
    )

    assert status == 2
    assert "cost change 42 was not found" in capsys.readouterr().err
