"""The control policy as validated values, read from the plain data of a YAML file.

``policy_document_from_data`` checks every entry and collects every problem before it raises,
so one run of an import lists all of them. Each problem names its place in the file
(``approval_rules[2].role``), the value found and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from billguard.controls.actions import CRITICAL_FIELDS
from billguard.controls.models.policy import Mode, Scope, Target
from billguard.controls.models.roles import Role
from billguard.controls.policy import SETTING_DEFAULTS
from billguard.controls.policy_scorecard import ScorecardPolicy, scorecard_policy_from_data
from billguard.domain.errors import InvalidInput

FORMAT_VERSION = 1

# Approval rule subjects besides the field categories and ``bespoke:<field>``.
SPECIAL_SUBJECTS = {
    "*": "any billing-critical change",
    "override": "override of a held invoice",
    "policy": "change of the control policy",
}
BESPOKE_PREFIX = "bespoke:"
# The terms of a contract template; a contract that deviates from one is bespoke.
TEMPLATE_TERMS = (
    "payment_terms_days",
    "cadence",
    "escalation_clause",
    "liquidated_damages",
    "termination_rights",
)
ALL_CHECKS = "*"

_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")
# Contract version fields that are set by Billguard itself or are never empty.
_NOT_MANDATORY = {
    "id",
    "contract",
    "version_number",
    "created_at",
    "change_request",
    "amendment",
    "approved_discounts",
    "bespoke_fields",
}
_SECTIONS = (
    "version",
    "critical_fields",
    "approval_rules",
    "settings",
    "check_modes",
    "mandatory_fields",
    "contract_templates",
    "scorecard",
    "vendor_onboarding",
)


@dataclass(frozen=True)
class CriticalFieldEntry:
    target: str
    attribute: str
    category: str


@dataclass(frozen=True)
class ApprovalRuleEntry:
    name: str
    subject: str
    role: str
    approvals: int = 1
    threshold: Decimal | None = None
    scope: str = Scope.ALL.value
    scope_value: str = ""
    mode: str = Mode.ENFORCE.value


@dataclass(frozen=True)
class CheckModeEntry:
    check_code: str
    mode: str
    scope: str = Scope.ALL.value
    scope_value: str = ""


@dataclass(frozen=True)
class ContractTemplateEntry:
    contract_type: str
    name: str
    payment_terms_days: int | None = None
    cadence: str = ""
    escalation_clause: str = ""
    liquidated_damages: str = ""
    termination_rights: str = ""


@dataclass(frozen=True)
class PolicyDocument:
    """A whole control policy; lists keep the order of the file."""

    critical_fields: tuple[CriticalFieldEntry, ...] = ()
    approval_rules: tuple[ApprovalRuleEntry, ...] = ()
    settings: Mapping[str, int] = field(default_factory=dict)
    check_modes: tuple[CheckModeEntry, ...] = ()
    mandatory_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    contract_templates: tuple[ContractTemplateEntry, ...] = ()
    # None when the policy has no scorecard section, which then scores with the defaults.
    scorecard: ScorecardPolicy | None = None
    # The onboarding checklist items a vendor needs before orders and vendor invoices to it
    # pass VENDOR_NOT_ONBOARDED. A file without the section requires all of them.
    vendor_onboarding: tuple[str, ...] = field(
        default_factory=lambda: tuple(known_onboarding_requirements())
    )


@dataclass(frozen=True)
class PolicyProblem:
    path: str
    message: str
    value: object
    fix: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} (found {self.value!r}). {self.fix}"


class PolicyInvalid(InvalidInput):
    """A policy file with one or more invalid entries; ``problems`` lists each of them."""

    code = "POLICY_INVALID"

    def __init__(self, source: str, problems: list[PolicyProblem]) -> None:
        first = problems[0]
        super().__init__(
            f"the policy has {len(problems)} problem(s):\n"
            + "\n".join(f"  {problem}" for problem in problems),
            place=source,
            value=first.value,
            fix="Correct each entry listed, then import the file again.",
        )
        self.problems = problems


def policy_document_from_data(data: object, source: str) -> PolicyDocument:
    """Validate the plain data of a policy file and return it as a PolicyDocument.

    Raises PolicyInvalid listing every problem found; ``source`` names the file in it.
    """
    reader = _Reader()
    document = reader.document(data)
    if reader.problems:
        raise PolicyInvalid(source, reader.problems)
    return document


def known_check_codes() -> set[str]:
    """Return the codes of the checks registered with the check engine."""
    from billguard.checks.engine import registered_checks

    return {registered.code for registered in registered_checks()}


def known_contract_types() -> list[str]:
    from billguard.registry.models.contracts import ContractType

    return list(ContractType.values)


def known_cadences() -> list[str]:
    from billguard.registry.models.contracts import Cadence

    return list(Cadence.values)


def known_onboarding_requirements() -> list[str]:
    """Return the vendor onboarding checklist items, in the order the checklist shows them."""
    from billguard.procurement.models import OnboardingItem

    return list(OnboardingItem.Requirement.values)


def contract_version_fields() -> list[str]:
    """Return the contract version fields a policy may make mandatory."""
    from billguard.registry.models.contracts import ContractVersion

    return [f.name for f in ContractVersion._meta.concrete_fields if f.name not in _NOT_MANDATORY]


class _Reader:
    """Read one policy file's data, recording a PolicyProblem for each invalid value."""

    def __init__(self) -> None:
        self.problems: list[PolicyProblem] = []

    def problem(self, path: str, message: str, value: object, fix: str) -> None:
        self.problems.append(PolicyProblem(path, message, value, fix))

    def document(self, data: object) -> PolicyDocument:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.problem(
                "(top level)",
                "the policy is not a mapping of sections",
                type(data).__name__,
                f"Start the file with sections such as {', '.join(_SECTIONS[1:3])}.",
            )
            return PolicyDocument()
        for key in data:
            if key not in _SECTIONS:
                self.problem(str(key), "unknown section", key, f"Use only: {', '.join(_SECTIONS)}.")
        version = data.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            self.problem(
                "version",
                "unsupported policy format version",
                version,
                f"Write version: {FORMAT_VERSION}.",
            )
        return PolicyDocument(
            critical_fields=self.critical_fields(data.get("critical_fields")),
            approval_rules=self.approval_rules(data.get("approval_rules")),
            settings=self.settings(data.get("settings")),
            check_modes=self.check_modes(data.get("check_modes")),
            mandatory_fields=self.mandatory_fields(data.get("mandatory_fields")),
            contract_templates=self.contract_templates(data.get("contract_templates")),
            scorecard=scorecard_policy_from_data(data.get("scorecard"), self.problem),
            vendor_onboarding=self.vendor_onboarding(data),
        )

    def critical_fields(self, data: object) -> tuple[CriticalFieldEntry, ...]:
        entries: list[CriticalFieldEntry] = []
        for target, attributes in self.mapping("critical_fields", data).items():
            path = f"critical_fields.{target}"
            if target not in Target.values:
                self.problem(
                    path, "unknown target", target, f"Use one of: {', '.join(Target.values)}."
                )
                continue
            for attribute, category in self.mapping(path, attributes).items():
                place = f"{path}.{attribute}"
                if not _ATTRIBUTE.match(str(attribute)):
                    self.problem(
                        place,
                        "invalid attribute name",
                        attribute,
                        "Write a field name such as tax_id, or lines.unit_price for a line field.",
                    )
                    continue
                if category not in CRITICAL_FIELDS:
                    self.problem(
                        place,
                        "unknown billing-critical field category",
                        category,
                        f"Use one of: {', '.join(CRITICAL_FIELDS)}.",
                    )
                    continue
                entries.append(CriticalFieldEntry(target, str(attribute), category))
        return tuple(entries)

    def approval_rules(self, data: object) -> tuple[ApprovalRuleEntry, ...]:
        entries: list[ApprovalRuleEntry] = []
        names: set[str] = set()
        known = {
            "name",
            "subject",
            "role",
            "approvals",
            "threshold",
            "scope",
            "scope_value",
            "mode",
        }
        for index, item in enumerate(self.sequence("approval_rules", data)):
            path = f"approval_rules[{index}]"
            row = self.item(path, item, known, required=("name", "subject", "role"))
            if row is None:
                continue
            ok = True
            name = self.text(f"{path}.name", row["name"], max_length=80)
            if name is not None and name in names:
                self.problem(
                    f"{path}.name", "duplicate rule name", name, "Give each rule its own name."
                )
                ok = False
            names.add(name or "")
            subject = row["subject"]
            if not self.subject_known(f"{path}.subject", subject):
                ok = False
            role = row["role"]
            if role not in Role.values:
                self.problem(
                    f"{path}.role", "unknown role", role, f"Use one of: {', '.join(Role.values)}."
                )
                ok = False
            approvals = row.get("approvals", 1)
            if isinstance(approvals, bool) or not isinstance(approvals, int) or approvals < 1:
                self.problem(
                    f"{path}.approvals",
                    "the number of approvals must be a whole number of 1 or more",
                    approvals,
                    "Write how many distinct people must approve, such as 1 or 2.",
                )
                ok = False
            threshold_ok, threshold = self.threshold(f"{path}.threshold", row.get("threshold"))
            scope, scope_value = self.scope(path, row)
            mode = self.mode(f"{path}.mode", row.get("mode", Mode.ENFORCE.value))
            if not ok or name is None or not threshold_ok or scope is None or mode is None:
                continue
            entries.append(
                ApprovalRuleEntry(
                    name=name,
                    subject=str(subject),
                    role=str(role),
                    approvals=int(approvals),
                    threshold=threshold,
                    scope=scope,
                    scope_value=scope_value,
                    mode=mode,
                )
            )
        return tuple(entries)

    def settings(self, data: object) -> dict[str, int]:
        values: dict[str, int] = {}
        for key, value in self.mapping("settings", data).items():
            path = f"settings.{key}"
            if key not in SETTING_DEFAULTS:
                self.problem(
                    path, "unknown setting", key, f"Use one of: {', '.join(SETTING_DEFAULTS)}."
                )
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                self.problem(
                    path,
                    "the setting must be a whole number of 1 or more",
                    value,
                    f"Write a number such as the default {SETTING_DEFAULTS[key]}.",
                )
                continue
            values[str(key)] = value
        return values

    def check_modes(self, data: object) -> tuple[CheckModeEntry, ...]:
        entries: list[CheckModeEntry] = []
        seen: set[tuple[str, str, str]] = set()
        codes = known_check_codes()
        known = {"check", "scope", "scope_value", "mode"}
        for index, item in enumerate(self.sequence("check_modes", data)):
            path = f"check_modes[{index}]"
            row = self.item(path, item, known, required=("check", "mode"))
            if row is None:
                continue
            code = row["check"]
            code_ok = code == ALL_CHECKS or code in codes
            if not code_ok:
                self.problem(
                    f"{path}.check",
                    "unknown check code",
                    code,
                    f'Write "{ALL_CHECKS}" for every check or a registered code: '
                    f"{', '.join(sorted(codes))}.",
                )
            scope, scope_value = self.scope(path, row)
            mode = self.mode(f"{path}.mode", row["mode"])
            if not code_ok or scope is None or mode is None:
                continue
            key = (str(code), scope, scope_value)
            if key in seen:
                self.problem(
                    path,
                    "duplicate check mode for the same check and scope",
                    f"{code} {scope} {scope_value}".strip(),
                    "Keep one entry per check and scope.",
                )
                continue
            seen.add(key)
            entries.append(CheckModeEntry(str(code), mode, scope, scope_value))
        return tuple(entries)

    def mandatory_fields(self, data: object) -> dict[str, tuple[str, ...]]:
        result: dict[str, tuple[str, ...]] = {}
        fields = contract_version_fields()
        for contract_type, names in self.mapping("mandatory_fields", data).items():
            path = f"mandatory_fields.{contract_type}"
            if not self.contract_type_known(path, contract_type):
                continue
            chosen: list[str] = []
            for index, name in enumerate(self.sequence(path, names)):
                place = f"{path}[{index}]"
                if name not in fields:
                    self.problem(
                        place,
                        "unknown contract version field",
                        name,
                        f"Use one of: {', '.join(fields)}.",
                    )
                elif name in chosen:
                    self.problem(place, "duplicate field", name, "List each field once.")
                else:
                    chosen.append(str(name))
            result[str(contract_type)] = tuple(chosen)
        return result

    def contract_templates(self, data: object) -> tuple[ContractTemplateEntry, ...]:
        entries: list[ContractTemplateEntry] = []
        known = {"name", *TEMPLATE_TERMS}
        for contract_type, item in self.mapping("contract_templates", data).items():
            path = f"contract_templates.{contract_type}"
            if not self.contract_type_known(path, contract_type):
                continue
            row = self.item(path, item, known, required=("name",))
            if row is None:
                continue
            name = self.text(f"{path}.name", row["name"], max_length=120)
            days = row.get("payment_terms_days")
            days_ok = days is None or (
                isinstance(days, int) and not isinstance(days, bool) and 0 <= days <= 32767
            )
            if not days_ok:
                self.problem(
                    f"{path}.payment_terms_days",
                    "payment terms must be a whole number of days, 0 or more",
                    days,
                    "Write the days until payment is due, such as 30, or leave it out.",
                )
            cadence = row.get("cadence") or ""
            if cadence and cadence not in known_cadences():
                self.problem(
                    f"{path}.cadence",
                    "unknown cadence",
                    cadence,
                    f"Use one of: {', '.join(known_cadences())}, or leave it out.",
                )
                continue
            clauses = {
                term: self.text(f"{path}.{term}", row.get(term) or "", max_length=300)
                for term in ("escalation_clause", "liquidated_damages", "termination_rights")
            }
            if name is None or not days_ok or any(v is None for v in clauses.values()):
                continue
            entries.append(
                ContractTemplateEntry(
                    contract_type=str(contract_type),
                    name=name,
                    payment_terms_days=days,
                    cadence=str(cadence),
                    escalation_clause=clauses["escalation_clause"] or "",
                    liquidated_damages=clauses["liquidated_damages"] or "",
                    termination_rights=clauses["termination_rights"] or "",
                )
            )
        return tuple(entries)

    def vendor_onboarding(self, data: dict[Any, Any]) -> tuple[str, ...]:
        known = known_onboarding_requirements()
        if "vendor_onboarding" not in data:
            return tuple(known)
        section = self.mapping("vendor_onboarding", data["vendor_onboarding"])
        for key in section:
            if key != "required":
                self.problem(
                    f"vendor_onboarding.{key}",
                    "unknown key",
                    key,
                    "Use only: required (the list of checklist items).",
                )
        required: list[str] = []
        path = "vendor_onboarding.required"
        for index, name in enumerate(self.sequence(path, section.get("required"))):
            place = f"{path}[{index}]"
            if name not in known:
                self.problem(
                    place,
                    "unknown onboarding checklist item",
                    name,
                    f"Use one of: {', '.join(known)}.",
                )
            elif name in required:
                self.problem(place, "duplicate checklist item", name, "List each item once.")
            else:
                required.append(str(name))
        return tuple(required)

    # Helpers for the shapes and values that several sections share.

    def mapping(self, path: str, data: object) -> dict[Any, Any]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem(
                path,
                "expected a mapping of names to values",
                type(data).__name__,
                "Write one `name: value` per line under it.",
            )
            return {}
        return data

    def sequence(self, path: str, data: object) -> list[Any]:
        if data is None:
            return []
        if not isinstance(data, list):
            self.problem(
                path, "expected a list", type(data).__name__, "Write one `- ` entry per line."
            )
            return []
        return data

    def item(
        self, path: str, data: object, known: set[str], *, required: tuple[str, ...]
    ) -> dict[str, Any] | None:
        if not isinstance(data, dict):
            self.problem(
                path,
                "expected a mapping of keys to values",
                data,
                f"Write the keys {', '.join(required)} under it.",
            )
            return None
        ok = True
        for key in data:
            if key not in known:
                self.problem(
                    f"{path}.{key}", "unknown key", key, f"Use only: {', '.join(sorted(known))}."
                )
                ok = False
        for key in required:
            if data.get(key) in (None, ""):
                self.problem(f"{path}.{key}", "missing value", None, f"Give a {key}.")
                ok = False
        return data if ok else None

    def text(self, path: str, value: object, *, max_length: int) -> str | None:
        if not isinstance(value, str):
            self.problem(path, "expected text", value, "Write it as text, quoted if needed.")
            return None
        if len(value) > max_length:
            self.problem(
                path,
                f"the text is longer than {max_length} characters",
                value[:40] + "...",
                f"Shorten it to {max_length} characters.",
            )
            return None
        return value.strip()

    def threshold(self, path: str, value: object) -> tuple[bool, Decimal | None]:
        """Return whether the threshold is valid, and its value (None when absent)."""
        if value is None:
            return True, None
        try:
            number = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or number < 0:
            self.problem(
                path,
                "the threshold must be a number of 0 or more",
                value,
                "Write the size above which the rule applies, such as 10 for 10 percent.",
            )
            return False, None
        if number.as_tuple().exponent < -4:  # type: ignore[operator]
            self.problem(
                path,
                "the threshold has more than 4 decimals",
                value,
                "Round it to at most 4 decimals.",
            )
            return False, None
        return True, number

    def scope(self, path: str, row: dict[str, Any]) -> tuple[str | None, str]:
        scope = row.get("scope", Scope.ALL.value)
        value = row.get("scope_value", "") or ""
        if scope not in Scope.values:
            self.problem(
                f"{path}.scope", "unknown scope", scope, f"Use one of: {', '.join(Scope.values)}."
            )
            return None, ""
        if not isinstance(value, str):
            self.problem(f"{path}.scope_value", "expected text", value, "Write it as text.")
            return None, ""
        if scope == Scope.ALL and value:
            self.problem(
                f"{path}.scope_value",
                "a rule for every contract takes no scope value",
                value,
                "Remove scope_value, or set scope to customer_group or contract_type.",
            )
            return None, ""
        if scope != Scope.ALL and not value:
            self.problem(
                f"{path}.scope_value",
                f"missing value for the scope {scope}",
                None,
                f"Name the {scope.replace('_', ' ')} the entry applies to.",
            )
            return None, ""
        if scope == Scope.CONTRACT_TYPE and not self.contract_type_known(
            f"{path}.scope_value", value
        ):
            return None, ""
        if len(value) > 60:
            self.problem(f"{path}.scope_value", "longer than 60 characters", value, "Shorten it.")
            return None, ""
        return str(scope), value

    def mode(self, path: str, value: object) -> str | None:
        if value not in Mode.values:
            self.problem(path, "unknown mode", value, f"Use one of: {', '.join(Mode.values)}.")
            return None
        return str(value)

    def subject_known(self, path: str, subject: object) -> bool:
        if subject in SPECIAL_SUBJECTS or subject in CRITICAL_FIELDS:
            return True
        if isinstance(subject, str) and subject.startswith(BESPOKE_PREFIX):
            term = subject.removeprefix(BESPOKE_PREFIX)
            if term in TEMPLATE_TERMS:
                return True
            self.problem(
                path,
                "unknown contract template term",
                subject,
                f"Write bespoke: followed by one of: {', '.join(TEMPLATE_TERMS)}.",
            )
            return False
        self.problem(
            path,
            "unknown subject",
            subject,
            f"Use a field category ({', '.join(CRITICAL_FIELDS)}), "
            f"{', '.join(repr(s) for s in SPECIAL_SUBJECTS)} or bespoke:<template term>.",
        )
        return False

    def contract_type_known(self, path: str, value: object) -> bool:
        if value in known_contract_types():
            return True
        self.problem(
            path,
            "unknown contract type",
            value,
            f"Use one of: {', '.join(known_contract_types())}.",
        )
        return False
