"""Contract templates: setting them, comparing versions with them, bespoke fields on versions."""

import datetime as dt

import pytest
from django.contrib.auth.models import User

from billguard.controls.models import AuditEntry, ContractTemplate
from billguard.controls.roles import roles_install
from billguard.controls.templates import contract_template_set, template_deviations
from billguard.domain.errors import InvalidInput, NotAllowed
from billguard.registry.models import ContractVersion
from billguard.registry.services.amendments import (
    amendment_approve,
    amendment_draft,
    amendment_sign,
)
from billguard.registry.terms import VersionTerms
from tests.factories import make_contract, make_sow

pytestmark = pytest.mark.django_db

CLAUSES = {
    "escalation_clause": "Rates may rise once a year by at most 5 %.",
    "liquidated_damages": "None.",
    "termination_rights": "Either party may terminate for material breach.",
}


def services_template(**overrides: object) -> ContractTemplate:
    values: dict = {"payment_terms_days": 30, "cadence": "monthly", **CLAUSES, **overrides}
    return contract_template_set(contract_type="services", **values)


def user_with_role(username: str, role: str) -> User:
    groups = {group.name: group for group in roles_install()}
    user = User.objects.create_user(username=username)
    user.groups.add(groups[role])
    return user


def terms(**fields: object) -> VersionTerms:
    values: dict = {
        "effective_from": dt.date(2026, 1, 1),
        "currency": "EUR",
        "payment_terms_days": 30,
        "cadence": "monthly",
        **CLAUSES,
        **fields,
    }
    return VersionTerms(**values)


def test_template_set_creates_then_replaces():
    first = services_template()

    second = contract_template_set(contract_type="services", payment_terms_days=45)

    assert second.pk == first.pk
    assert ContractTemplate.objects.count() == 1
    assert second.payment_terms_days == 45
    assert second.escalation_clause == ""
    assert second.name == "Standard services terms"
    entries = AuditEntry.objects.filter(action="contract_template.set").order_by("sequence")
    assert entries[0].before is None
    assert entries[1].before["payment_terms_days"] == 30
    assert entries[1].after["payment_terms_days"] == 45


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("contract_type", "retainer"),
        ("cadence", "weekly"),
        ("payment_terms_days", 400),
        ("liquidated_damages", "x" * 301),
    ],
)
def test_template_set_rejects_bad_value(field, value):
    arguments: dict = {"contract_type": "services", field: value}

    with pytest.raises(InvalidInput) as error:
        contract_template_set(**arguments)

    assert error.value.place == field
    assert not ContractTemplate.objects.exists()


def test_template_set_needs_policy_change_action():
    clerk = user_with_role("sales.rep", "sales")
    admin = user_with_role("admin", "administrator")

    with pytest.raises(NotAllowed):
        contract_template_set(contract_type="services", by=clerk, cadence="monthly")
    contract_template_set(contract_type="services", by=admin, cadence="monthly")

    assert AuditEntry.objects.get(action="contract_template.set").actor == "admin"


def test_deviations_field_by_field():
    template = services_template()
    version = terms(
        payment_terms_days=60,
        cadence="quarterly",
        escalation_clause="Rates are fixed for three years.",
        liquidated_damages="1 % of the fee per day of delay.",
        termination_rights="The customer may terminate for convenience.",
    )

    deviations = template_deviations(version, template)

    assert deviations == [
        {"field": "payment_terms_days", "template": 30, "contract": 60},
        {"field": "cadence", "template": "monthly", "contract": "quarterly"},
        {
            "field": "escalation_clause",
            "template": CLAUSES["escalation_clause"],
            "contract": "Rates are fixed for three years.",
        },
        {
            "field": "liquidated_damages",
            "template": "None.",
            "contract": "1 % of the fee per day of delay.",
        },
        {
            "field": "termination_rights",
            "template": CLAUSES["termination_rights"],
            "contract": "The customer may terminate for convenience.",
        },
    ]


def test_deviation_of_one_field_only():
    template = services_template()

    deviations = template_deviations(terms(payment_terms_days=14), template)

    assert deviations == [{"field": "payment_terms_days", "template": 30, "contract": 14}]


def test_clause_whitespace_is_not_a_deviation():
    template = services_template()
    retyped = "Rates may rise once a year\n  by at most 5 %. "

    assert template_deviations(terms(escalation_clause=retyped), template) == []


def test_missing_clause_deviates_from_template():
    template = services_template()

    deviations = template_deviations(terms(liquidated_damages=""), template)

    assert deviations == [{"field": "liquidated_damages", "template": "None.", "contract": ""}]


def test_empty_template_field_sets_no_standard():
    template = contract_template_set(contract_type="services", liquidated_damages="None.")

    deviations = template_deviations(terms(payment_terms_days=90, cadence="yearly"), template)

    assert deviations == []


def test_no_template_means_no_deviation():
    assert template_deviations(terms(payment_terms_days=90), None) == []


def test_version_create_stores_bespoke_fields():
    services_template()

    setup = make_contract(draft=True, payment_terms_days=60, **CLAUSES)

    version = setup.contract.versions.get()
    assert version.bespoke_fields == ["payment_terms_days"]
    assert version.escalation_clause == CLAUSES["escalation_clause"]


def test_version_following_template_has_no_bespoke_fields():
    services_template()

    setup = make_contract(draft=True, **CLAUSES)

    assert setup.contract.versions.get().bespoke_fields == []


def test_amendment_changes_clause_and_bespoke_fields():
    services_template()
    setup = make_contract(**CLAUSES)
    amendment = amendment_draft(
        contract=setup.contract,
        number="A-1",
        effective_from=dt.date(2026, 9, 1),
        changes={"termination_rights": "The customer may terminate for convenience."},
    )
    amendment_sign(
        amendment=amendment, document=make_sow("AMD-C-1"), signed_on=dt.date(2026, 8, 20)
    )

    amendment_approve(
        amendment=amendment, approved_by="finance.approver", approved_on=dt.date(2026, 8, 25)
    )

    second = ContractVersion.objects.get(contract=setup.contract, version_number=2)
    assert second.termination_rights == "The customer may terminate for convenience."
    assert second.escalation_clause == CLAUSES["escalation_clause"]
    assert second.bespoke_fields == ["termination_rights"]
