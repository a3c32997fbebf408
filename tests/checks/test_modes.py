import dataclasses
import datetime as dt

import pytest

from billguard.checks.context import CheckContext
from billguard.checks.finding import Finding, Severity
from billguard.checks.modes import CheckModeRule, CheckModes, check_modes_load
from billguard.controls.models import CheckMode
from billguard.registry.models import Contract, Party


def modes(*rules: tuple[str, str, str, str]) -> CheckModes:
    return CheckModes(CheckModeRule(code, mode, scope, value) for code, scope, value, mode in rules)


def test_no_rows_enforces_every_check():
    assert modes().mode_for("PRICE_MISMATCH") == "enforce"


def test_all_scope_applies_everywhere():
    observed = modes(("*", "all", "", "observe"))

    assert observed.mode_for("PRICE_MISMATCH") == "observe"
    assert observed.mode_for("SOW_MISSING", customer_group="pilot") == "observe"


def test_unmatched_check_enforces():
    only_price = modes(("PRICE_MISMATCH", "all", "", "observe"))

    assert only_price.mode_for("SOW_MISSING") == "enforce"


def test_exact_code_wins_over_star():
    mixed = modes(("*", "all", "", "observe"), ("PRICE_MISMATCH", "all", "", "enforce"))

    assert mixed.mode_for("PRICE_MISMATCH") == "enforce"
    assert mixed.mode_for("SOW_MISSING") == "observe"


def test_customer_group_wins_over_all():
    pilot = modes(("*", "all", "", "observe"), ("*", "customer_group", "pilot", "enforce"))

    assert pilot.mode_for("SOW_MISSING", customer_group="pilot") == "enforce"
    assert pilot.mode_for("SOW_MISSING", customer_group="retail") == "observe"
    assert pilot.mode_for("SOW_MISSING") == "observe"


def test_contract_type_wins_over_all():
    by_type = modes(("*", "all", "", "enforce"), ("*", "contract_type", "usage", "observe"))

    assert by_type.mode_for("PRICE_MISMATCH", contract_type="usage") == "observe"
    assert by_type.mode_for("PRICE_MISMATCH", contract_type="services") == "enforce"


def test_customer_group_wins_over_contract_type():
    both = modes(
        ("*", "contract_type", "services", "observe"),
        ("*", "customer_group", "pilot", "enforce"),
    )

    assert both.mode_for("SOW_MISSING", customer_group="pilot", contract_type="services") == (
        "enforce"
    )
    assert both.mode_for("SOW_MISSING", customer_group="other", contract_type="services") == (
        "observe"
    )


def test_scope_decides_before_code():
    rows = modes(
        ("PRICE_MISMATCH", "all", "", "enforce"), ("*", "customer_group", "pilot", "observe")
    )

    assert rows.mode_for("PRICE_MISMATCH", customer_group="pilot") == "observe"
    assert rows.mode_for("PRICE_MISMATCH") == "enforce"


def test_exact_code_wins_within_customer_group():
    rows = modes(
        ("*", "customer_group", "pilot", "observe"),
        ("SOW_MISSING", "customer_group", "pilot", "enforce"),
    )

    assert rows.mode_for("SOW_MISSING", customer_group="pilot") == "enforce"
    assert rows.mode_for("PRICE_MISMATCH", customer_group="pilot") == "observe"


def test_apply_marks_only_blocking_findings():
    block = Finding(code="SOW_MISSING", severity=Severity.BLOCK, subject="SOW", message="none")
    warn = dataclasses.replace(block, code="AMENDMENT_PENDING", severity=Severity.WARN)
    context = CheckContext(as_of=dt.date(2026, 11, 1))

    marked = modes(("*", "all", "", "observe")).apply([block, warn], context)

    assert marked[0].observed
    assert not marked[0].blocks
    assert marked[0].severity is Severity.BLOCK
    assert marked[1] == warn


def test_apply_reads_scope_of_contract():
    party = Party(code="P", kind="customer", name="P", country="DE", customer_group="pilot")
    contract = Contract(number="C-1", party=party, contract_type="usage")
    block = Finding(code="SOW_MISSING", severity=Severity.BLOCK, subject="SOW", message="none")
    context = CheckContext(as_of=dt.date(2026, 11, 1), contract=contract)

    by_group = modes(("*", "customer_group", "pilot", "observe")).apply([block], context)
    by_type = modes(("*", "contract_type", "usage", "observe")).apply([block], context)
    other_type = modes(("*", "contract_type", "services", "observe")).apply([block], context)

    assert by_group[0].observed
    assert by_type[0].observed
    assert not other_type[0].observed


@pytest.mark.django_db
def test_load_reads_policy_rows():
    CheckMode.objects.create(check_code="*", scope="all", mode="observe")
    CheckMode.objects.create(
        check_code="SOW_MISSING", scope="customer_group", scope_value="pilot", mode="enforce"
    )

    loaded = check_modes_load()

    assert loaded.mode_for("SOW_MISSING") == "observe"
    assert loaded.mode_for("SOW_MISSING", customer_group="pilot") == "enforce"
