"""Making change requests from the CLI: ``approvals request``, ``emergency``, ``apply-due``
and ``expire``, on the real request services and the real database."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billguard.cli.change_requests import parse_value
from billguard.cli.main import main
from billguard.controls.models import ApprovalRule, ChangeRequest
from billguard.registry.models import BillingScheduleLine, ContractVersion, Party
from billguard.registry.services.parties import party_create
from tests.factories import make_contract

pytestmark = pytest.mark.django_db(transaction=True)

PRICE_CHANGE = ["--line", "L1:unit_price=1100.00", "--effective", "2026-11-01"]
REASON = ["--reason", "Uplift agreed in the renewal"]


def request_price(user: str, *extra: str) -> int:
    return main(["--user", user, "approvals", "request", "contract", "C-1", *PRICE_CHANGE, *extra])


def test_request_on_contract_line(capsys, sample_users):
    setup = make_contract()

    status = request_price("sam.sales", *REASON)

    assert status == 0
    request = ChangeRequest.objects.get()
    assert request.target == "contract"
    assert request.target_id == str(setup.contract.pk)
    assert request.changes == {"lines": {"L1": {"unit_price": "1100.00"}}}
    assert request.effective_from == dt.date(2026, 11, 1)
    assert request.channel == ChangeRequest.Channel.CLI
    assert request.requested_by.get_username() == "sam.sales"
    assert request.status == ChangeRequest.Status.PENDING
    out = capsys.readouterr().out
    assert f"change request {request.pk}: contract C-1" in out
    assert "price" in out
    assert "1 approval from any approver" in out
    assert f"billguard approvals approve {request.pk}" in out


def test_request_names_policy_rule(capsys, sample_users):
    make_contract()
    ApprovalRule.objects.create(
        name="price needs two", subject="price", role="finance_approver", approvals=2
    )

    status = request_price("sam.sales", *REASON)

    assert status == 0
    assert (
        "2 approvals from the finance approver role under rule price needs two"
        in capsys.readouterr().out
    )


def test_request_observe_mode_applies(capsys, sample_users):
    make_contract()
    ApprovalRule.objects.create(
        name="price observed", subject="price", role="finance_approver", mode="observe"
    )

    status = request_price("sam.sales", *REASON)

    assert status == 0
    assert ChangeRequest.objects.get(target="contract").status == ChangeRequest.Status.APPLIED
    assert "applied at once (observe mode)" in capsys.readouterr().out
    version = ContractVersion.objects.get(version_number=2)
    assert version.lines.get(line_code="L1").unit_price == Decimal("1100.00")
    # The schedule's follow-up matches the same observed price rule, so it applies at once too.
    follow = ChangeRequest.objects.get(target="schedule")
    assert follow.status == ChangeRequest.Status.APPLIED
    assert BillingScheduleLine.objects.filter(unit_price=Decimal("1100.00")).exists()


def test_request_payment_terms_as_number(sample_users):
    make_contract()

    status = main(
        [
            "--user",
            "fran.finance",
            "approvals",
            "request",
            "contract",
            "C-1",
            "--set",
            "payment_terms_days=45",
            "--effective",
            "2026-11-01",
            *REASON,
        ]
    )

    assert status == 0
    assert ChangeRequest.objects.get().changes == {"payment_terms_days": 45}


def test_request_on_bill_to_keeps_text(sample_users):
    setup = make_contract()

    status = main(
        [
            "--user",
            "fran.finance",
            "approvals",
            "request",
            "bill-to",
            "CUST-1-BT",
            "--set",
            "postcode=80333",
            "--set",
            "city=München",
            *REASON,
        ]
    )

    assert status == 0
    request = ChangeRequest.objects.get()
    assert request.target == "bill_to"
    assert request.target_id == str(setup.bill_to.pk)
    assert request.changes == {"postcode": "80333", "city": "München"}


def test_request_on_schedule_line(sample_users):
    setup = make_contract()

    status = main(
        [
            "--user",
            "fran.finance",
            "approvals",
            "request",
            "schedule",
            "C-1",
            *PRICE_CHANGE,
            *REASON,
        ]
    )

    assert status == 0
    request = ChangeRequest.objects.get()
    assert request.target == "schedule"
    assert request.target_id == str(setup.contract.schedule.pk)
    assert request.categories == ["price"]


def test_request_on_vendor_bank(sample_users):
    vendor = party_create(code="V-1", kind=Party.Kind.VENDOR, name="Parts AG", country="DE")

    status = main(
        [
            "--user",
            "pat.procurement",
            "approvals",
            "request",
            "vendor",
            "V-1",
            "--set",
            "iban=DE89370400440532013000",
            "--reason",
            "New bank letter",
        ]
    )

    assert status == 0
    request = ChangeRequest.objects.get()
    assert request.target == "vendor"
    assert request.target_id == str(vendor.pk)
    assert request.categories == ["vendor_bank_details"]


def test_request_without_user_exits_two(capsys, sample_users, monkeypatch):
    make_contract()
    monkeypatch.delenv("BILLGUARD_USER")

    status = main(["approvals", "request", "contract", "C-1", *PRICE_CHANGE, *REASON])

    assert status == 2
    assert "--user" in capsys.readouterr().err
    assert not ChangeRequest.objects.exists()


def test_request_by_auditor_refused(capsys, sample_users):
    make_contract()

    status = request_price("audrey.auditor", *REASON)

    assert status == 2
    assert "audrey.auditor (auditor) may not" in capsys.readouterr().err
    assert not ChangeRequest.objects.exists()


def test_request_outside_role_fields_refused(capsys, sample_users):
    make_contract()

    status = main(
        [
            "--user",
            "sam.sales",
            "approvals",
            "request",
            "bill-to",
            "CUST-1-BT",
            "--set",
            "tax_id=DE129273398",
            *REASON,
        ]
    )

    assert status == 2
    assert "sam.sales may not request changes to the" in capsys.readouterr().err
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize(
    ("target", "key"),
    [("contract", "C-404"), ("schedule", "C-404"), ("bill-to", "BT-404"), ("vendor", "V-404")],
)
def test_request_unknown_id_not_found(capsys, sample_users, target, key):
    status = main(
        [
            "--user",
            "fran.finance",
            "approvals",
            "request",
            target,
            key,
            "--set",
            "payment_terms_days=45",
            *REASON,
        ]
    )

    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ID: ")
    assert f"{key!r} is not in the registry" in err


def test_request_unknown_field(capsys, sample_users):
    make_contract()

    status = main(
        [
            "--user",
            "fran.finance",
            "approvals",
            "request",
            "contract",
            "C-1",
            "--set",
            "colour=blue",
            "--effective",
            "2026-11-01",
            *REASON,
        ]
    )

    assert status == 2
    err = capsys.readouterr().err
    assert "changes.colour" in err
    assert "'colour' is not a contract term" in err


def test_request_bad_price(capsys, sample_users):
    make_contract()

    status = main(
        [
            "--user",
            "sam.sales",
            "approvals",
            "request",
            "contract",
            "C-1",
            "--line",
            "L1:unit_price=abc",
            "--effective",
            "2026-11-01",
            *REASON,
        ]
    )

    assert status == 2
    err = capsys.readouterr().err
    assert "changes.lines.L1.unit_price" in err
    assert "'abc' is not a number" in err
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize(
    ("options", "place", "message"),
    [
        (["--set", "payment_terms_days"], "--set", "is not FIELD=VALUE"),
        (["--set", "=45"], "--set", "is not FIELD=VALUE"),
        (["--line", "unit_price=1100"], "--line", "is not CODE:FIELD=VALUE"),
        (["--set", "a=1", "--set", "a=2"], "--set", "a is given more than once"),
        (["--line", "L1:quantity=2", "--remove-line", "L1"], "--remove-line", "both changed"),
        (["--remove-line", " "], "--remove-line", "the line code to remove is empty"),
        (["--set", "lines=x"], "--set", "given with --line"),
        ([], "--set", "names no change"),
    ],
)
def test_request_bad_options(capsys, sample_users, options, place, message):
    make_contract()

    status = main(
        ["--user", "fran.finance", "approvals", "request", "contract", "C-1", *options, *REASON]
    )

    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {place}: ")
    assert message in err
    assert not ChangeRequest.objects.exists()


def test_request_without_reason_exits_two(capsys, sample_users):
    make_contract()

    with pytest.raises(SystemExit) as exited:
        request_price("sam.sales")

    assert exited.value.code == 2
    assert "--reason" in capsys.readouterr().err
    assert not ChangeRequest.objects.exists()


def test_request_unknown_target_exits_two(capsys, sample_users):
    with pytest.raises(SystemExit) as exited:
        main(["approvals", "request", "invoice", "1", "--set", "a=1", *REASON])

    assert exited.value.code == 2
    assert "invalid choice: 'invoice'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45", 45),
        ("1100.00", "1100.00"),
        ("1e3", "1e3"),
        ("true", True),
        ("none", None),
        ("None", None),
        ('"10115"', "10115"),
        ("Berlin", "Berlin"),
        ("NaN", "NaN"),
        ('[{"percent": "10", "line_code": "L1"}]', [{"percent": "10", "line_code": "L1"}]),
        ("", ""),
    ],
)
def test_parse_value(text, expected):
    assert parse_value(text) == expected


def test_parse_value_as_text():
    assert parse_value("10115", as_text=True) == "10115"
    assert parse_value("none", as_text=True) == ""


def test_emergency_applies_and_prints_review_due(capsys, sample_users):
    make_contract()

    status = main(
        [
            "--user",
            "ada.admin",
            "approvals",
            "emergency",
            "contract",
            "C-1",
            "--set",
            "payment_terms_days=45",
            "--effective",
            "2026-11-01",
            "--reason",
            "Customer escalation, CFO agreed by phone",
        ]
    )

    assert status == 0
    request = ChangeRequest.objects.get()
    assert request.emergency
    assert request.status == ChangeRequest.Status.APPLIED
    assert request.review_due is not None
    out = capsys.readouterr().out
    assert f"review due    {timezone.localtime(request.review_due):%Y-%m-%d %H:%M}" in out
    assert f"billguard approvals review {request.pk}" in out
    assert ContractVersion.objects.get(version_number=2).payment_terms_days == 45


def test_emergency_by_sales_refused(capsys, sample_users):
    make_contract()

    status = main(
        ["--user", "sam.sales", "approvals", "emergency", "contract", "C-1", *PRICE_CHANGE, *REASON]
    )

    assert status == 2
    assert "sam.sales (sales) may not" in capsys.readouterr().err
    assert not ChangeRequest.objects.exists()
    assert not ContractVersion.objects.filter(version_number=2).exists()


def test_apply_due_applies_on_date(capsys, sample_users):
    make_contract()
    later = timezone.localdate() + dt.timedelta(days=40)
    main(
        [
            "--user",
            "sam.sales",
            "approvals",
            "request",
            "contract",
            "C-1",
            "--line",
            "L1:unit_price=1100.00",
            "--effective",
            later.isoformat(),
            *REASON,
        ]
    )
    request = ChangeRequest.objects.get()
    main(["--user", "alex.approver", "approvals", "approve", str(request.pk)])
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.APPROVED
    capsys.readouterr()

    early = main(["approvals", "apply-due", "--date", (later - dt.timedelta(days=1)).isoformat()])
    assert early == 0
    assert "applied 0 approved" in capsys.readouterr().out

    status = main(["approvals", "apply-due", "--date", later.isoformat()])

    assert status == 0
    assert f"applied 1 approved change request(s) due on {later}" in capsys.readouterr().out
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.APPLIED
    assert ContractVersion.objects.get(version_number=2).effective_from == later


def test_expire_marks_overdue_requests(capsys, sample_users):
    make_contract()
    request_price("sam.sales", *REASON)
    request = ChangeRequest.objects.get()
    ChangeRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )

    status = main(["approvals", "expire"])

    assert status == 0
    assert "expired 1 pending change request(s)" in capsys.readouterr().out
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.EXPIRED
