"""The policy's verdict on a change request: which approvals it needs, and when they are in.

The verdict is a list of requirements stored on the request (``ChangeRequest.required``), each
a JSON object: the rule's name, subject, role, number of approvals and mode, and under
``approved_by`` the people counted so far. A requirement with an empty role is met by anyone
who may approve changes, and it is the one requirement when no rule matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from billguard.controls.actions import CRITICAL_FIELDS
from billguard.controls.models import ApprovalRule
from billguard.controls.models.policy import ANY_APPROVER, Mode, Scope
from billguard.controls.roles import role_label

# Subjects whose size the requests compute from the changes when the caller gives none.
DISCOUNT = "discount"
PRICE = "price"
# "*" stands for any billing-critical field category, not for the other subjects (a policy
# change, an override, a bespoke term), which have rules of their own. A merge of two parties
# (party_identity) has its own rule too: any approver may approve it, not only the role that
# "*" names.
ANY_SUBJECT = "*"
PARTY_IDENTITY = "party_identity"
CRITICAL = frozenset(CRITICAL_FIELDS) - {PARTY_IDENTITY}


def policy_verdict(
    *, subjects: Iterable[str], scope: tuple[str, str], sizes: Mapping[str, Decimal]
) -> tuple[list[dict[str, Any]], str]:
    """Return the requirements of the rules matching ``subjects`` in ``scope``, and the mode.

    The mode is observe only when every matching rule is in observe mode. A rule with a
    threshold matches when the subject's size is above it, or when the size is unknown,
    because a control that cannot measure the change should not wave it through.
    """
    wanted = set(subjects)
    customer_group, contract_type = scope
    matched = [
        rule
        for rule in ApprovalRule.objects.order_by("name")
        if (rule.subject in wanted or (rule.subject == ANY_SUBJECT and wanted & CRITICAL))
        and _in_scope(rule, customer_group, contract_type)
        and _above_threshold(rule, sizes)
    ]
    if not matched:
        return [_requirement("", "", "", 1, Mode.ENFORCE)], Mode.ENFORCE.value
    required = [
        _requirement(
            rule.name, rule.subject, _requirement_role(rule.role), rule.approvals, rule.mode
        )
        for rule in matched
    ]
    if all(rule.mode == Mode.OBSERVE for rule in matched):
        return required, Mode.OBSERVE.value
    return required, Mode.ENFORCE.value


def requirements_outstanding(required: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the enforced requirements that still lack approvals."""
    return [
        r
        for r in required
        if r.get("mode", Mode.ENFORCE) == Mode.ENFORCE
        and len(r.get("approved_by", [])) < int(r["approvals"])
    ]


def requirements_met_by(required: list[dict[str, Any]], roles: set[str]) -> list[dict[str, Any]]:
    """Return the outstanding requirements that a person holding ``roles`` counts toward."""
    return [r for r in requirements_outstanding(required) if not r["role"] or r["role"] in roles]


def requirements_count(
    required: list[dict[str, Any]], person: str, roles: set[str]
) -> list[dict[str, Any]]:
    """Return ``required`` with ``person`` counted toward every requirement their roles meet."""
    counted = {id(r) for r in requirements_met_by(required, roles)}
    result = []
    for requirement in required:
        copy = {**requirement, "approved_by": list(requirement.get("approved_by", []))}
        if id(requirement) in counted:
            copy["approved_by"].append(person)
        result.append(copy)
    return result


def requirements_describe(required: list[dict[str, Any]]) -> str:
    """Describe the outstanding requirements for a message, one part per role.

    One approval counts toward every outstanding requirement whose role the approver has
    (``requirements_count``). So the requirements of one role need as many more people as
    the one with the most approvals missing: ``1 approval from the finance approver role
    under rules A and B``. The approvers of those roles count toward a requirement of any
    approver too, so it is shown only when it needs more people than any one role.
    """
    by_role: dict[str, tuple[int, list[str]]] = {}
    for r in requirements_outstanding(required):
        missing = int(r["approvals"]) - len(r.get("approved_by", []))
        needed, rules = by_role.get(r["role"], (0, []))
        names = [r["rule"]] if r["rule"] else []
        by_role[r["role"]] = (max(needed, missing), [*rules, *names])

    any_needed, any_rules = by_role.pop("", (0, []))
    parts = [
        _approvals_text(needed, _approvers(role), rules)
        for role, (needed, rules) in by_role.items()
    ]
    role_needed_max = max((needed for needed, _ in by_role.values()), default=0)
    if any_needed and not parts:
        parts.append(_approvals_text(any_needed, _approvers(""), any_rules))
    elif any_needed > role_needed_max:
        parts.append(_approvals_text(any_needed, "in all", any_rules))
    return "; ".join(parts) or "none"


def change_sizes(changes: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, Decimal]:
    """Return the size of a change by subject: the largest discount percent it sets, and the
    largest price change of a line in percent of its old price.

    A price change is measured only where the line had a price before, so a new line or a
    price from the price list has no size.
    """
    sizes: dict[str, Decimal] = {}
    discounts = [_decimal(d.get("percent")) for d in _dicts(changes.get("discounts"))]
    lines = changes.get("lines")
    lines = lines if isinstance(lines, Mapping) else {}
    old_lines = before.get("lines")
    old_lines = old_lines if isinstance(old_lines, Mapping) else {}
    price_changes = []
    for code, line_changes in lines.items():
        if not isinstance(line_changes, Mapping):
            continue
        discounts.append(_decimal(line_changes.get("discount_percent")))
        new_price = _decimal(line_changes.get("unit_price"))
        old_line = old_lines.get(code)
        old_price = _decimal(old_line.get("unit_price")) if isinstance(old_line, Mapping) else None
        if new_price is not None and old_price:
            price_changes.append(abs(new_price - old_price) * 100 / abs(old_price))
    known_discounts = [d for d in discounts if d is not None]
    if known_discounts:
        sizes[DISCOUNT] = max(known_discounts)
    if price_changes:
        sizes[PRICE] = max(price_changes).quantize(Decimal("0.0001"))
    return sizes


def requirement_text(requirement: Mapping[str, Any]) -> str:
    """Describe one requirement as its rule sets it: ``2 approvals from the finance approver
    role``, whatever approvals it has already."""
    count = int(requirement.get("approvals", 1))
    return _approvals_text(count, _approvers(requirement.get("role") or ""), [])


def _approvers(role: str) -> str:
    return f"from the {role_label(role)} role" if role else f"from {role_label('')}"


def _approvals_text(count: int, source: str, rules: list[str]) -> str:
    text = f"{count} approval{'s' if count != 1 else ''} {source}"
    if rules:
        names = list(dict.fromkeys(rules))
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        text += f" under rule{'s' if len(names) > 1 else ''} {listed}"
    return text


def _requirement(rule: str, subject: str, role: str, approvals: int, mode: str) -> dict[str, Any]:
    return {
        "rule": rule,
        "subject": subject,
        "role": role,
        "approvals": approvals,
        "mode": str(mode),
        "approved_by": [],
    }


def _requirement_role(role: str) -> str:
    # A requirement with an empty role is met by anyone who may approve changes.
    return "" if role == ANY_APPROVER else role


def _in_scope(rule: ApprovalRule, customer_group: str, contract_type: str) -> bool:
    if rule.scope == Scope.CUSTOMER_GROUP:
        return bool(customer_group) and rule.scope_value == customer_group
    if rule.scope == Scope.CONTRACT_TYPE:
        return bool(contract_type) and rule.scope_value == contract_type
    return True


def _above_threshold(rule: ApprovalRule, sizes: Mapping[str, Decimal]) -> bool:
    if rule.threshold is None:
        return True
    if rule.subject == ANY_SUBJECT:
        size = max(sizes.values()) if sizes else None
    else:
        size = sizes.get(rule.subject)
    return size is None or Decimal(size) > rule.threshold


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
