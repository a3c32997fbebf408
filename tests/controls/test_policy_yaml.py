import dataclasses
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import IntegrityError

from billguard.controls.models import (
    ApprovalRule,
    AuditEntry,
    CheckMode,
    ContractTemplate,
    CriticalField,
    MandatoryField,
    PolicySetting,
)
from billguard.controls.policy import policy_setting
from billguard.controls.policy_document import CheckModeEntry, PolicyInvalid
from billguard.controls.policy_yaml import (
    policy_default,
    policy_document_load,
    policy_dump_yaml,
    policy_export,
    policy_load_yaml,
    policy_replace,
    policy_seed,
    policy_sha256,
)
from billguard.controls.roles import roles_install
from billguard.domain.errors import InvalidInput, NotAllowed
from billguard.registry.mandatory import MANDATORY_FIELDS

pytestmark = pytest.mark.django_db

EDITED_POLICY = """\
version: 1
critical_fields:
  vendor:
    iban: vendor_bank_details
approval_rules:
  - name: large discount for pilot customers
    subject: discount
    role: finance_approver
    approvals: 2
    threshold: 12.5
    scope: customer_group
    scope_value: pilot
  - name: policy change
    subject: policy
    role: administrator
settings:
  request_expiry_days: 7
check_modes:
  - check: "*"
    scope: all
    mode: observe
  - check: PRICE_MISMATCH
    scope: contract_type
    scope_value: usage
    mode: enforce
mandatory_fields:
  services: [effective_from, bill_to, end_date]
contract_templates:
  services:
    name: Services light
    payment_terms_days: 14
"""


def test_default_policy_has_the_standard_rules():
    document = policy_default()

    rules = {rule.name: rule for rule in document.approval_rules}
    assert rules["billing-critical change"].subject == "*"
    assert rules["billing-critical change"].role == "finance_approver"
    assert rules["discount above 10 percent"].threshold == Decimal("10")
    assert rules["vendor bank details"].approvals == 2
    assert rules["override of a held invoice"].subject == "override"
    assert rules["policy change"].role == "administrator"
    assert rules["bespoke escalation clause"].role == "administrator"
    assert rules["bespoke payment terms"].role == "finance_approver"
    assert document.settings["document_max_bytes"] == 26214400
    assert [(m.check_code, m.scope, m.mode) for m in document.check_modes] == [
        ("*", "all", "enforce")
    ]
    assert {t.contract_type for t in document.contract_templates} == {
        "subscription",
        "services",
        "usage",
        "project",
    }


def test_default_mandatory_fields_match_the_built_in_ones():
    document = policy_default()

    assert dict(document.mandatory_fields) == MANDATORY_FIELDS


def test_default_critical_fields_cover_every_target():
    fields = {(e.target, e.attribute): e.category for e in policy_default().critical_fields}

    assert fields[("contract", "lines.unit_price")] == "price"
    assert fields[("contract", "tax_jurisdiction")] == "tax_treatment"
    assert fields[("bill_to", "tax_id")] == "tax_id"
    assert fields[("bill_to", "subdivision")] == "bill_to"
    assert fields[("schedule", "lines.discount_percent")] == "discount"
    assert fields[("vendor", "iban")] == "vendor_bank_details"


def test_seed_fills_empty_tables_once():
    seeded = policy_seed()
    counts = _row_counts()
    again = policy_seed()

    assert seeded is True
    assert again is False
    assert _row_counts() == counts
    assert counts["rules"] == 10
    assert counts["templates"] == 4
    assert policy_setting("request_expiry_days") == 14


def test_seed_leaves_an_existing_policy_alone():
    PolicySetting.objects.create(key="request_expiry_days", value=3)

    seeded = policy_seed()

    assert seeded is False
    assert ApprovalRule.objects.count() == 0
    assert policy_setting("request_expiry_days") == 3


def test_export_of_seed_matches_default_file_content():
    policy_seed()

    exported = policy_load_yaml(policy_export(), "export")

    assert exported == policy_default()


def test_export_import_export_is_identical():
    policy_seed()
    first = policy_export()

    policy_replace(document=policy_load_yaml(first, "first export"))
    second = policy_export()

    assert second == first


def test_edited_policy_round_trips():
    policy_replace(document=policy_load_yaml(EDITED_POLICY, "edited.yaml"))
    first = policy_export()
    policy_replace(document=policy_load_yaml(first, "export"))

    assert policy_export() == first
    rule = ApprovalRule.objects.get(name="large discount for pilot customers")
    assert rule.threshold == Decimal("12.5")
    assert rule.scope_value == "pilot"
    assert "threshold: 12.5" in first


def test_replace_swaps_every_table():
    policy_seed()

    policy_replace(document=policy_load_yaml(EDITED_POLICY, "edited.yaml"))

    assert list(CriticalField.objects.values_list("attribute", flat=True)) == ["iban"]
    assert ApprovalRule.objects.count() == 2
    assert policy_setting("request_expiry_days") == 7
    assert policy_setting("emergency_review_hours") == 48  # back to the default
    assert CheckMode.objects.count() == 2
    assert list(MandatoryField.objects.values_list("field_name", flat=True)) == [
        "effective_from",
        "bill_to",
        "end_date",
    ]
    assert ContractTemplate.objects.get().payment_terms_days == 14


def test_replace_is_atomic():
    policy_seed()
    before = policy_export()
    broken = dataclasses.replace(
        policy_default(),
        check_modes=(CheckModeEntry("*", "observe"), CheckModeEntry("*", "enforce")),
    )

    with pytest.raises(IntegrityError):
        policy_replace(document=broken)

    assert policy_export() == before


def test_replace_records_hashes_in_audit_trail():
    policy_seed()
    before = policy_sha256()

    after = policy_replace(
        document=policy_load_yaml(EDITED_POLICY, "edited.yaml"), reason="tighter expiry"
    )

    entry = AuditEntry.objects.filter(action="policy.replace").order_by("sequence").last()
    assert entry is not None
    assert entry.before == {"sha256": before}
    assert entry.after["sha256"] == after
    assert entry.after["approval_rules"] == 2
    assert entry.reason == "tighter expiry"
    assert after == policy_sha256()
    assert after != before


def test_replace_by_user_without_policy_change_is_refused():
    roles_install()
    clerk = User.objects.create_user("clerk")
    clerk.groups.add(Group.objects.get(name="finance"))
    admin = User.objects.create_user("root-admin")
    admin.groups.add(Group.objects.get(name="administrator"))
    document = policy_load_yaml(EDITED_POLICY, "edited.yaml")

    with pytest.raises(NotAllowed):
        policy_replace(document=document, by=clerk)
    assert ApprovalRule.objects.count() == 0

    policy_replace(document=document, by=admin)
    entry = AuditEntry.objects.get(action="policy.replace")
    assert entry.actor == "root-admin"


def test_default_policy_requires_every_onboarding_item():
    assert policy_default().vendor_onboarding == (
        "legal_review",
        "tax_form",
        "insurance_certificate",
        "bank_details",
        "payment_terms",
    )


def test_vendor_onboarding_round_trips():
    text = "vendor_onboarding:\n  required: [payment_terms, legal_review]\n"
    policy_replace(document=policy_load_yaml(text, "onboarding.yaml"))

    first = policy_export()
    policy_replace(document=policy_load_yaml(first, "export"))

    assert policy_export() == first
    assert policy_document_load().vendor_onboarding == ("payment_terms", "legal_review")
    assert "vendor_onboarding:\n  required:\n  - payment_terms\n  - legal_review\n" in first
    assert "vendor_onboarding.required" not in policy_document_load().settings


def test_empty_vendor_onboarding_requires_nothing():
    policy_replace(document=policy_load_yaml("vendor_onboarding:\n  required: []\n", "p.yaml"))

    assert policy_document_load().vendor_onboarding == ()


def test_policy_without_vendor_onboarding_requires_all():
    document = policy_load_yaml("settings:\n  request_expiry_days: 7\n", "p.yaml")

    assert len(document.vendor_onboarding) == 5


def test_document_load_of_empty_tables_is_empty():
    document = policy_document_load()

    assert document.approval_rules == ()
    assert policy_dump_yaml(document).startswith("version: 1\n")


BAD_ENTRIES = [
    (
        "approval_rules:\n  - {name: a, subject: discount, role: boss}\n",
        "approval_rules[0].role",
        "unknown role",
    ),
    (
        "approval_rules:\n  - {name: a, subject: discont, role: finance}\n",
        "approval_rules[0].subject",
        "unknown subject",
    ),
    (
        "approval_rules:\n  - {name: a, subject: 'bespoke:colour', role: finance}\n",
        "approval_rules[0].subject",
        "unknown contract template term",
    ),
    (
        "approval_rules:\n  - {name: a, subject: discount, role: finance, threshold: -1}\n",
        "approval_rules[0].threshold",
        "0 or more",
    ),
    (
        "approval_rules:\n  - {name: a, subject: discount, role: finance, threshold: ten}\n",
        "approval_rules[0].threshold",
        "0 or more",
    ),
    (
        "approval_rules:\n  - {name: a, subject: discount, role: finance, approvals: 0}\n",
        "approval_rules[0].approvals",
        "1 or more",
    ),
    (
        "approval_rules:\n  - {name: a, subject: price, role: finance}\n"
        "  - {name: a, subject: discount, role: finance}\n",
        "approval_rules[1].name",
        "duplicate rule name",
    ),
    (
        "approval_rules:\n  - {name: a, subject: price, role: finance, scope: region}\n",
        "approval_rules[0].scope",
        "unknown scope",
    ),
    (
        "approval_rules:\n  - {name: a, subject: price, role: finance, mode: relaxed}\n",
        "approval_rules[0].mode",
        "unknown mode",
    ),
    (
        "approval_rules:\n  - {name: a, subject: price, role: finance, scope: contract_type,"
        " scope_value: rental}\n",
        "approval_rules[0].scope_value",
        "unknown contract type",
    ),
    (
        "approval_rules:\n  - {name: a, subject: price, role: finance, scope: customer_group}\n",
        "approval_rules[0].scope_value",
        "missing value",
    ),
    (
        "approval_rules:\n  - {name: a, subject: price}\n",
        "approval_rules[0].role",
        "missing value",
    ),
    ("critical_fields:\n  invoice:\n    total: price\n", "critical_fields.invoice", "target"),
    (
        "critical_fields:\n  vendor:\n    iban: bank\n",
        "critical_fields.vendor.iban",
        "unknown billing-critical field category",
    ),
    (
        "check_modes:\n  - {check: PRICE_MISMACH, mode: observe}\n",
        "check_modes[0].check",
        "unknown check code",
    ),
    (
        "check_modes:\n  - {check: PRICE_MISMATCH, mode: watch}\n",
        "check_modes[0].mode",
        "unknown mode",
    ),
    (
        "check_modes:\n  - {check: '*', mode: observe}\n  - {check: '*', mode: enforce}\n",
        "check_modes[1]",
        "duplicate check mode",
    ),
    ("mandatory_fields:\n  rental: [bill_to]\n", "mandatory_fields.rental", "contract type"),
    (
        "mandatory_fields:\n  usage: [bill_to, colour]\n",
        "mandatory_fields.usage[1]",
        "unknown contract version field",
    ),
    ("settings:\n  request_expiry_days: -3\n", "settings.request_expiry_days", "1 or more"),
    ("settings:\n  retention_years: 10\n", "settings.retention_years", "unknown setting"),
    (
        "contract_templates:\n  rental: {name: Rental}\n",
        "contract_templates.rental",
        "unknown contract type",
    ),
    (
        "contract_templates:\n  usage: {name: Usage, cadence: weekly}\n",
        "contract_templates.usage.cadence",
        "unknown cadence",
    ),
    ("colour: blue\n", "colour", "unknown section"),
    (
        "vendor_onboarding:\n  required: [legal_review, credit_check]\n",
        "vendor_onboarding.required[1]",
        "unknown onboarding checklist item",
    ),
    (
        "vendor_onboarding:\n  required: [tax_form, tax_form]\n",
        "vendor_onboarding.required[1]",
        "duplicate checklist item",
    ),
    (
        "vendor_onboarding:\n  required: [tax_form]\n  optional: [legal_review]\n",
        "vendor_onboarding.optional",
        "unknown key",
    ),
    ("vendor_onboarding:\n  required: tax_form\n", "vendor_onboarding.required", "a list"),
    ("vendor_onboarding: [tax_form]\n", "vendor_onboarding", "mapping"),
]


@pytest.mark.parametrize(("text", "path", "message"), BAD_ENTRIES)
def test_invalid_entry_names_path_and_fix(text, path, message):
    with pytest.raises(PolicyInvalid) as raised:
        policy_load_yaml(text, "policy.yaml")

    problems = {problem.path: problem for problem in raised.value.problems}
    assert path in problems, str(raised.value)
    assert message in problems[path].message
    assert problems[path].fix
    assert raised.value.place == "policy.yaml"
    assert path in str(raised.value)


def test_every_problem_is_listed_at_once():
    text = (
        "approval_rules:\n  - {name: a, subject: discount, role: boss, approvals: 0}\n"
        "settings:\n  request_expiry_days: 0\n"
    )

    with pytest.raises(PolicyInvalid) as raised:
        policy_load_yaml(text, "policy.yaml")

    assert [p.path for p in raised.value.problems] == [
        "approval_rules[0].role",
        "approval_rules[0].approvals",
        "settings.request_expiry_days",
    ]


def test_repeated_key_is_rejected():
    text = "settings:\n  request_expiry_days: 7\n  request_expiry_days: 9\n"

    with pytest.raises(InvalidInput) as raised:
        policy_load_yaml(text, "policy.yaml")

    assert "request_expiry_days" in str(raised.value)
    assert raised.value.place == "policy.yaml line 3 column 3"


def test_broken_yaml_names_line():
    with pytest.raises(InvalidInput) as raised:
        policy_load_yaml("settings: [1\n", "policy.yaml")

    assert raised.value.place is not None
    assert raised.value.place.startswith("policy.yaml line 2")


def test_yaml_tags_are_not_executed():
    with pytest.raises(InvalidInput):
        policy_load_yaml("settings: !!python/object/apply:os.system ['true']\n", "policy.yaml")


def _row_counts() -> dict[str, int]:
    return {
        "critical": CriticalField.objects.count(),
        "rules": ApprovalRule.objects.count(),
        "settings": PolicySetting.objects.count(),
        "modes": CheckMode.objects.count(),
        "mandatory": MandatoryField.objects.count(),
        "templates": ContractTemplate.objects.count(),
    }
