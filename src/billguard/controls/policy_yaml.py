"""The control policy in YAML: seed a new installation, export it, replace it as a whole.

The database is the source of truth. ``default_policy.yaml`` beside this module seeds empty
policy tables. ``policy_export`` writes the database policy in the same format and in a
stable order, so an export imported again exports to the same text. An import is a change
request for the target ``policy`` (see policy_appliers.py), applied by ``policy_replace``.
"""

from __future__ import annotations

import hashlib
import logging
from decimal import Decimal
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml
from django.db import transaction

from billguard.controls.models.policy import (
    ApprovalRule,
    CheckMode,
    ContractTemplate,
    CriticalField,
    MandatoryField,
    Mode,
    PolicySetting,
    Scope,
    Target,
)
from billguard.controls.policy import SETTING_DEFAULTS, VENDOR_ONBOARDING_KEY
from billguard.controls.policy_document import (
    FORMAT_VERSION,
    ApprovalRuleEntry,
    CheckModeEntry,
    ContractTemplateEntry,
    CriticalFieldEntry,
    PolicyDocument,
    PolicyInvalid,
    PolicyProblem,
    known_contract_types,
    policy_document_from_data,
)
from billguard.controls.policy_scorecard import (
    SCORECARD_SETTING_KEY,
    ScorecardPolicy,
    scorecard_policy_data,
    scorecard_policy_from_data,
)
from billguard.controls.services import DEFAULT_ACTOR, AuditItem, audit_record_batch
from billguard.domain.errors import InvalidInput

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

DEFAULT_POLICY_FILE = "default_policy.yaml"
# The audit trail records policy writes under this record type and id.
POLICY_RECORD = ("controls.policy", "policy")
_POLICY_MODELS = (
    CriticalField,
    ApprovalRule,
    PolicySetting,
    CheckMode,
    MandatoryField,
    ContractTemplate,
)


def policy_load_yaml(text: str, source: str) -> PolicyDocument:
    """Parse and validate a policy file; ``source`` names it in error messages.

    Raises InvalidInput for a file that is not YAML or repeats a key, and PolicyInvalid
    listing every invalid entry.
    """
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506  (a SafeLoader subclass)
    except _RepeatedKey as error:
        mark = error.problem_mark
        line = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise InvalidInput(
            f"the policy repeats a key: {error.problem}.",
            place=f"{source}{line}",
            value=error.problem,
            fix="Keep one entry per key; YAML would silently keep only the last one.",
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise InvalidInput(
            f"the policy is not valid YAML: {error.problem or error}.",
            place=f"{source}{line}",
            value=error.problem or str(error),
            fix="Correct the YAML syntax (indentation, colons, quotes) at that place.",
        ) from None
    except yaml.YAMLError as error:
        raise InvalidInput(
            f"the policy is not valid YAML: {error}.",
            place=source,
            value=str(error),
            fix="Correct the YAML syntax of the file.",
        ) from None
    return policy_document_from_data(data, source)


def policy_dump_yaml(document: PolicyDocument) -> str:
    """Write ``document`` as YAML in the format that policy_load_yaml reads."""
    data: dict[str, Any] = {"version": FORMAT_VERSION}
    critical: dict[str, dict[str, str]] = {}
    for entry in document.critical_fields:
        critical.setdefault(entry.target, {})[entry.attribute] = entry.category
    data["critical_fields"] = critical
    data["approval_rules"] = [_rule_data(rule) for rule in document.approval_rules]
    data["settings"] = dict(document.settings)
    data["check_modes"] = [_check_mode_data(entry) for entry in document.check_modes]
    data["mandatory_fields"] = {k: list(v) for k, v in document.mandatory_fields.items()}
    data["contract_templates"] = {
        template.contract_type: _template_data(template) for template in document.contract_templates
    }
    if document.scorecard is not None:
        data["scorecard"] = scorecard_policy_data(document.scorecard)
    data["vendor_onboarding"] = {"required": list(document.vendor_onboarding)}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def policy_document_load() -> PolicyDocument:
    """Read the policy in the database, in the stable order that policy_export writes.

    Critical fields are grouped by target in the order of the Target choices. Templates and
    mandatory fields follow the order of the contract types, and settings the order of their
    defaults. The other lists keep the order in which they were stored.
    """
    target_order = {target: index for index, target in enumerate(Target.values)}
    critical = sorted(
        CriticalField.objects.order_by("pk"),
        key=lambda row: target_order.get(row.target, len(target_order)),
    )
    type_order = {name: index for index, name in enumerate(known_contract_types())}
    mandatory: dict[str, list[str]] = {}
    for row in sorted(
        MandatoryField.objects.order_by("pk"),
        key=lambda row: type_order.get(row.contract_type, len(type_order)),
    ):
        mandatory.setdefault(row.contract_type, []).append(row.field_name)
    setting_order = {key: index for index, key in enumerate(SETTING_DEFAULTS)}
    rows = sorted(
        PolicySetting.objects.all(), key=lambda row: (setting_order.get(row.key, 99), row.key)
    )
    settings = {
        row.key: row.value
        for row in rows
        if row.key not in (VENDOR_ONBOARDING_KEY, SCORECARD_SETTING_KEY)
    }
    onboarding = next((row.value for row in rows if row.key == VENDOR_ONBOARDING_KEY), None)
    scorecard_row = next((row for row in rows if row.key == SCORECARD_SETTING_KEY), None)
    templates = sorted(
        ContractTemplate.objects.all(),
        key=lambda row: type_order.get(row.contract_type, len(type_order)),
    )
    return PolicyDocument(
        critical_fields=tuple(
            CriticalFieldEntry(row.target, row.attribute, row.category) for row in critical
        ),
        approval_rules=tuple(_rule_entry(row) for row in ApprovalRule.objects.order_by("pk")),
        settings=settings,
        check_modes=tuple(
            CheckModeEntry(row.check_code, row.mode, row.scope, row.scope_value)
            for row in CheckMode.objects.order_by("pk")
        ),
        mandatory_fields={k: tuple(v) for k, v in mandatory.items()},
        contract_templates=tuple(_template_entry(row) for row in templates),
        scorecard=_scorecard_entry(scorecard_row),
        **({} if onboarding is None else {"vendor_onboarding": tuple(onboarding)}),
    )


def policy_export() -> str:
    """Return the database policy as YAML; exporting twice gives the same text."""
    return policy_dump_yaml(policy_document_load())


def policy_sha256() -> str:
    """Return the SHA-256 of the exported policy, which changes with any policy row."""
    return hashlib.sha256(policy_export().encode("utf-8")).hexdigest()


def policy_exists() -> bool:
    return any(model.objects.exists() for model in _POLICY_MODELS)


def policy_replace(
    *,
    document: PolicyDocument,
    by: AbstractBaseUser | None = None,
    reason: str = "",
    actor: str = "",
) -> str:
    """Replace every policy row by ``document`` in one transaction and return the new SHA-256.

    When ``by`` is given, it must hold the ``policy_change`` action. The change-request
    applier passes ``actor`` instead: the approvals authorise it. The audit trail records the
    hashes of the policy before and after.
    """
    if by is not None:
        from billguard.controls.roles import authorize

        authorize(by, "policy_change")
    with transaction.atomic():
        before = policy_sha256()
        for model in _POLICY_MODELS:
            model.objects.all().delete()
        _rows_insert(document)
        after = policy_sha256()
        audit_record_batch(
            actor=by.get_username() if by is not None else (actor or DEFAULT_ACTOR),
            items=[
                AuditItem(
                    action="policy.replace",
                    record_type=POLICY_RECORD[0],
                    record_id=POLICY_RECORD[1],
                    before={"sha256": before},
                    after={"sha256": after, **_counts(document)},
                    reason=reason,
                )
            ],
        )
    logger.info("policy replaced: sha256 %s before, %s after", before[:12], after[:12])
    return after


def policy_seed() -> bool:
    """Load default_policy.yaml into the policy tables when they are all empty.

    Returns True when it seeded, False when a policy exists, which it then leaves alone.
    """
    with transaction.atomic():
        if policy_exists():
            return False
        document = policy_default()
        policy_replace(document=document, reason="policy of a new installation")
    logger.info("seeded the default control policy")
    return True


def policy_default() -> PolicyDocument:
    """Return the policy of a new installation, read from default_policy.yaml."""
    text = resources.files("billguard.controls").joinpath(DEFAULT_POLICY_FILE).read_text("utf-8")
    return policy_load_yaml(text, DEFAULT_POLICY_FILE)


def _rows_insert(document: PolicyDocument) -> None:
    CriticalField.objects.bulk_create(
        CriticalField(target=e.target, attribute=e.attribute, category=e.category)
        for e in document.critical_fields
    )
    ApprovalRule.objects.bulk_create(
        ApprovalRule(
            name=e.name,
            subject=e.subject,
            role=e.role,
            approvals=e.approvals,
            threshold=e.threshold,
            scope=e.scope,
            scope_value=e.scope_value,
            mode=e.mode,
        )
        for e in document.approval_rules
    )
    PolicySetting.objects.bulk_create(
        [PolicySetting(key=key, value=value) for key, value in document.settings.items()]
        + [PolicySetting(key=VENDOR_ONBOARDING_KEY, value=list(document.vendor_onboarding))]
    )
    if document.scorecard is not None:
        PolicySetting.objects.create(
            key=SCORECARD_SETTING_KEY, value=scorecard_policy_data(document.scorecard)
        )
    CheckMode.objects.bulk_create(
        CheckMode(check_code=e.check_code, scope=e.scope, scope_value=e.scope_value, mode=e.mode)
        for e in document.check_modes
    )
    MandatoryField.objects.bulk_create(
        MandatoryField(contract_type=contract_type, field_name=name)
        for contract_type, names in document.mandatory_fields.items()
        for name in names
    )
    ContractTemplate.objects.bulk_create(
        ContractTemplate(
            contract_type=e.contract_type,
            name=e.name,
            payment_terms_days=e.payment_terms_days,
            cadence=e.cadence,
            escalation_clause=e.escalation_clause,
            liquidated_damages=e.liquidated_damages,
            termination_rights=e.termination_rights,
        )
        for e in document.contract_templates
    )


def _counts(document: PolicyDocument) -> dict[str, int]:
    return {
        "critical_fields": len(document.critical_fields),
        "approval_rules": len(document.approval_rules),
        "settings": len(document.settings),
        "check_modes": len(document.check_modes),
        "mandatory_fields": sum(len(v) for v in document.mandatory_fields.values()),
        "contract_templates": len(document.contract_templates),
        "scorecard": int(document.scorecard is not None),
        "vendor_onboarding": len(document.vendor_onboarding),
    }


def _scorecard_entry(row: PolicySetting | None) -> ScorecardPolicy | None:
    if row is None:
        return None
    problems: list[PolicyProblem] = []
    policy = scorecard_policy_from_data(
        row.value, lambda *problem: problems.append(PolicyProblem(*problem))
    )
    if problems:
        # Only a row edited outside Billguard gets here, because imports are validated.
        raise PolicyInvalid("the scorecard policy in the database", problems)
    return policy


def _rule_entry(row: ApprovalRule) -> ApprovalRuleEntry:
    return ApprovalRuleEntry(
        name=row.name,
        subject=row.subject,
        role=row.role,
        approvals=row.approvals,
        threshold=row.threshold,
        scope=row.scope,
        scope_value=row.scope_value,
        mode=row.mode,
    )


def _template_entry(row: ContractTemplate) -> ContractTemplateEntry:
    return ContractTemplateEntry(
        contract_type=row.contract_type,
        name=row.name,
        payment_terms_days=row.payment_terms_days,
        cadence=row.cadence,
        escalation_clause=row.escalation_clause,
        liquidated_damages=row.liquidated_damages,
        termination_rights=row.termination_rights,
    )


def _rule_data(rule: ApprovalRuleEntry) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": rule.name,
        "subject": rule.subject,
        "role": rule.role,
        "approvals": rule.approvals,
    }
    if rule.threshold is not None:
        data["threshold"] = _number(rule.threshold)
    if rule.scope != Scope.ALL:
        data["scope"] = rule.scope
        data["scope_value"] = rule.scope_value
    if rule.mode != Mode.ENFORCE:
        data["mode"] = rule.mode
    return data


def _check_mode_data(entry: CheckModeEntry) -> dict[str, Any]:
    data: dict[str, Any] = {"check": entry.check_code, "scope": entry.scope}
    if entry.scope != Scope.ALL:
        data["scope_value"] = entry.scope_value
    data["mode"] = entry.mode
    return data


def _template_data(template: ContractTemplateEntry) -> dict[str, Any]:
    data: dict[str, Any] = {"name": template.name}
    if template.payment_terms_days is not None:
        data["payment_terms_days"] = template.payment_terms_days
    for term in ("cadence", "escalation_clause", "liquidated_damages", "termination_rights"):
        value = getattr(template, term)
        if value:
            data[term] = value
    return data


def _number(value: Decimal) -> int | float:
    # The threshold column keeps 4 decimals, which a float's repr writes back exactly.
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        return int(normalized)
    return float(normalized)


class _RepeatedKey(yaml.constructor.ConstructorError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects a key repeated in one mapping, which YAML allows silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:
                continue  # an unhashable key, which the SafeLoader rejects with its own error
            if repeated:
                raise _RepeatedKey(
                    "while reading a mapping",
                    node.start_mark,
                    f"the key {key!r} is repeated",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
