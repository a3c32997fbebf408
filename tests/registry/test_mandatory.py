import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billguard.checks.engine import run_checks
from billguard.checks.selectors import ContextRequest, load_contexts
from billguard.controls.models import MandatoryField
from billguard.domain.periods import parse_period
from billguard.registry.mandatory import (
    MANDATORY_FIELDS,
    mandatory_fields_load,
    missing_fields,
)
from tests.factories import checked_draft, draft_for, make_contract

pytestmark = pytest.mark.django_db


def test_empty_table_uses_built_in_fields():
    fields = mandatory_fields_load()

    assert fields.of("project") == MANDATORY_FIELDS["project"]
    assert "effective_from" in fields.of("rental")


def test_table_rows_replace_built_in_fields():
    MandatoryField.objects.create(contract_type="services", field_name="end_date")
    MandatoryField.objects.create(contract_type="services", field_name="bill_to")

    fields = mandatory_fields_load()

    assert fields.of("services") == ("end_date", "bill_to")
    assert fields.of("project") == ()


def test_missing_fields_reads_policy_rows():
    setup = make_contract()
    version = setup.contract.versions.get()
    MandatoryField.objects.create(contract_type="services", field_name="end_date")
    MandatoryField.objects.create(contract_type="services", field_name="bill_to")

    assert missing_fields(version, "services") == ["end_date"]


def test_missing_fields_reads_relation_by_id():
    setup = make_contract(price_list_id=None)
    version = setup.contract.versions.get()

    assert missing_fields(version, "usage") == ["price_list"]


def test_check_reports_field_the_policy_adds():
    setup = make_contract()
    MandatoryField.objects.create(contract_type="services", field_name="end_date")
    draft, context = checked_draft(setup.contract, "2026-11")

    findings = run_checks(draft, context, only={"CONTRACT_FIELD_MISSING"})

    assert [f.subject for f in findings] == ["contract field end_date"]


def test_contexts_load_mandatory_fields_once():
    contracts = [make_contract(f"C-{n}").contract for n in range(1, 4)]
    MandatoryField.objects.create(contract_type="services", field_name="end_date")
    period = parse_period("2026-11")
    plans = [draft_for(contract, "2026-11") for contract in contracts]
    requests = [
        ContextRequest(
            contract_id=contract.pk,
            bill_to_id=plan.bill_to.pk if plan.bill_to else None,
            service_start=period.start,
            service_end=period.end,
        )
        for contract, plan in zip(contracts, plans, strict=True)
    ]

    with CaptureQueriesContext(connection) as queries:
        contexts = load_contexts(requests, as_of=period.start, period=period)
    table = MandatoryField._meta.db_table
    reads = [q for q in queries.captured_queries if table in q["sql"]]

    assert len(reads) == 1
    assert all(c.mandatory_fields is contexts[0].mandatory_fields for c in contexts)
