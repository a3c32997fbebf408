import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billguard.billing.models import Invoice
from billguard.billing.report import format_report, run_report
from billguard.billing.run import billing_run_execute
from billguard.checks.guard import check_documents
from billguard.checks.models import StoredFinding
from billguard.controls.models import CheckMode
from billguard.controls.policy_yaml import policy_load_yaml, policy_replace
from billguard.domain.periods import parse_period
from billguard.registry.models import Party
from tests.factories import draft_for, make_contract, make_customer

pytestmark = pytest.mark.django_db(transaction=True)

# Customers with distinct names, postcodes and valid tax IDs, so that no party check fires.
CUSTOMERS = {
    "CUST-A": ("Alder Logistics GmbH", "DE812345608", "10117"),
    "CUST-B": ("Birch Software GmbH", "DE812345616", "20095"),
    "CUST-C": ("Cedar Foods GmbH", "DE812345624", "50667"),
}


def unsigned_contract(number, customer_code, *, group="", contract_type="services"):
    """A contract without a signed SOW, whose drafts SOW_MISSING blocks."""
    if not Party.objects.filter(code=customer_code).exists():
        name, tax_id, postcode = CUSTOMERS[customer_code]
        make_customer(customer_code, name=name, tax_id=tax_id, postcode=postcode)
    Party.objects.filter(code=customer_code).update(customer_group=group)
    return make_contract(
        number, customer_code=customer_code, contract_type=contract_type, sow_document_id=None
    ).contract


def modes(*rows):
    CheckMode.objects.all().delete()
    for code, scope, value, mode in rows:
        CheckMode.objects.create(check_code=code, scope=scope, scope_value=value, mode=mode)


def statuses(result):
    return {o.contract_number: o.status for o in result.outcomes}


def test_enforce_holds_draft():
    unsigned_contract("C-1", "CUST-A")
    modes(("*", "all", "", "enforce"))

    result = billing_run_execute(period=parse_period("2026-11"))

    assert statuses(result) == {"C-1": "held"}
    finding = StoredFinding.objects.get(code="SOW_MISSING")
    assert finding.severity == "block"
    assert not finding.observed


def test_observe_issues_draft_and_keeps_finding():
    unsigned_contract("C-1", "CUST-A")
    modes(("SOW_MISSING", "all", "", "observe"))

    result = billing_run_execute(period=parse_period("2026-11"))

    assert statuses(result) == {"C-1": "issued"}
    invoice = Invoice.objects.get()
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.number == "ADE-000001"
    finding = StoredFinding.objects.get(code="SOW_MISSING")
    assert finding.severity == "block"
    assert finding.observed
    assert finding.invoice_id == invoice.pk


def test_report_lists_observed_findings():
    unsigned_contract("C-1", "CUST-A")
    modes(("*", "all", "", "observe"))

    report = run_report(billing_run_execute(period=parse_period("2026-11")))

    assert report["invoices_held"] == 0
    assert report["observed"] == [
        {
            "contract": "C-1",
            "status": "issued",
            "payable": "1190.00",
            "currency": "EUR",
            "observed": ["SOW_MISSING"],
        }
    ]
    row = next(r for r in report["findings_by_code"] if r["code"] == "SOW_MISSING")
    assert row["observed"] is True
    assert row["severity"] == "block"
    assert next(f for f in report["findings"] if f["code"] == "SOW_MISSING")["observed"]
    text = format_report(report)
    assert "SOW_MISSING                         observed       1" in text
    assert "1 draft(s) have blocking findings of checks in observe mode" in text


def test_dry_run_counts_observed_draft_clean():
    unsigned_contract("C-1", "CUST-A")
    modes(("*", "all", "", "observe"))

    result = billing_run_execute(period=parse_period("2026-11"), dry_run=True)

    assert statuses(result) == {"C-1": "clean"}
    assert result.outcomes[0].findings[0].observed


def test_customer_group_scope():
    unsigned_contract("C-1", "CUST-A", group="pilot")
    unsigned_contract("C-2", "CUST-B", group="retail")
    modes(("*", "customer_group", "retail", "observe"))

    result = billing_run_execute(period=parse_period("2026-11"))

    assert statuses(result) == {"C-1": "held", "C-2": "issued"}


def test_contract_type_scope():
    unsigned_contract("C-1", "CUST-A", contract_type="services")
    unsigned_contract("C-2", "CUST-B", contract_type="subscription")
    modes(("*", "contract_type", "subscription", "observe"))

    result = billing_run_execute(period=parse_period("2026-11"))

    assert statuses(result) == {"C-1": "held", "C-2": "issued"}


def test_most_specific_row_wins():
    unsigned_contract("C-1", "CUST-A", group="pilot", contract_type="services")
    unsigned_contract("C-2", "CUST-B", contract_type="services")
    unsigned_contract("C-3", "CUST-C", contract_type="subscription")
    modes(
        ("*", "all", "", "enforce"),
        ("*", "contract_type", "services", "observe"),
        ("SOW_MISSING", "customer_group", "pilot", "enforce"),
    )

    result = billing_run_execute(period=parse_period("2026-11"))

    assert statuses(result) == {"C-1": "held", "C-2": "issued", "C-3": "held"}


def test_pilot_then_widen():
    unsigned_contract("C-1", "CUST-A", group="pilot")
    unsigned_contract("C-2", "CUST-B")
    unsigned_contract("C-3", "CUST-C")
    pilot = """\
check_modes:
  - {check: "*", scope: all, mode: observe}
  - {check: "*", scope: customer_group, scope_value: pilot, mode: enforce}
"""
    widened = """\
check_modes:
  - {check: "*", scope: all, mode: enforce}
"""
    policy_replace(document=policy_load_yaml(pilot, "pilot.yaml"))

    november = billing_run_execute(period=parse_period("2026-11"))
    policy_replace(document=policy_load_yaml(widened, "widened.yaml"))
    december = billing_run_execute(period=parse_period("2026-12"))

    assert statuses(november) == {"C-1": "held", "C-2": "issued", "C-3": "issued"}
    assert statuses(december) == {"C-1": "held", "C-2": "held", "C-3": "held"}


def test_run_loads_modes_once():
    for number, customer in (("C-1", "CUST-A"), ("C-2", "CUST-B"), ("C-3", "CUST-C")):
        unsigned_contract(number, customer)
    modes(("*", "all", "", "observe"))
    table = CheckMode._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        result = billing_run_execute(period=parse_period("2026-11"), chunk_size=1)

    assert result.chunks == 3
    assert len([q for q in queries.captured_queries if table in q["sql"]]) == 1


def test_guard_observe_does_not_block():
    contract = unsigned_contract("C-1", "CUST-A")
    document = draft_for(contract, "2026-11").document
    as_of = parse_period("2026-11").start

    enforced = check_documents([document], as_of=as_of)
    modes(("SOW_MISSING", "all", "", "observe"))
    observed = check_documents([document], as_of=as_of)

    assert enforced[0].blocked
    assert not observed[0].blocked
    assert [f.code for f in observed[0].findings if f.observed] == ["SOW_MISSING"]
