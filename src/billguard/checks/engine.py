"""The check engine: every draft, whatever made it, goes through the same registered checks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from billguard.checks.context import CheckContext, Draft
from billguard.checks.finding import Finding, Observation, Severity
from billguard.checks.modes import CheckModes
from billguard.controls.models.policy import Mode

logger = logging.getLogger(__name__)

# A check of a customer draft takes (Draft, CheckContext). A check of another subject (a
# purchase order, a vendor invoice) takes that subject's record and context.
CheckFunction = Callable[..., Iterable[Observation]]

# The subject of the customer-side checks: a draft invoice of ours or of another system.
INVOICE = "invoice"
PURCHASE_ORDER = "purchase_order"
VENDOR_INVOICE = "vendor_invoice"

CheckFunctionT = TypeVar("CheckFunctionT", bound=CheckFunction)


@dataclass(frozen=True)
class Check:
    code: str
    family: str
    default_severity: Severity
    function: CheckFunction
    needs_contract: bool
    subjects: frozenset[str] = frozenset({INVOICE})


_REGISTRY: dict[str, Check] = {}
# registered_checks() in order, built on first use after a registration.
_ORDERED: list[Check] = []


def check(
    code: str,
    *,
    family: str,
    severity: Severity,
    needs_contract: bool = True,
    subject: str | tuple[str, ...] = INVOICE,
) -> Callable[[CheckFunctionT], CheckFunctionT]:
    """Register a check under its stable ``code``.

    A check with ``needs_contract`` runs only when the draft's contract was found; the engine
    then guarantees ``context.contract`` is set. ``subject`` names what the check reads: a
    customer draft (``invoice``), or a procurement record (``purchase_order``,
    ``vendor_invoice``, or both) checked by ``run_subject_checks``.
    """
    subjects = frozenset((subject,) if isinstance(subject, str) else subject)
    if INVOICE in subjects and len(subjects) > 1:
        raise ValueError(f"check {code}: a customer draft check reads no other subject")

    def register(function: CheckFunctionT) -> CheckFunctionT:
        if code in _REGISTRY:
            raise ValueError(f"check code {code} is registered twice")
        _REGISTRY[code] = Check(
            code, family, severity, function, needs_contract and INVOICE in subjects, subjects
        )
        _ORDERED.clear()
        return function

    return register


def registered_checks() -> list[Check]:
    return list(_checks_in_order())


def _checks_in_order() -> list[Check]:
    """Return the registered checks by family and code, sorted once and not copied."""
    if not _ORDERED:
        _load_families()
        _ORDERED.extend(sorted(_REGISTRY.values(), key=lambda c: (c.family, c.code)))
    return _ORDERED


def run_checks(
    draft: Draft,
    context: CheckContext,
    *,
    severity_overrides: Mapping[str, Severity] | None = None,
    only: Iterable[str] | None = None,
    modes: CheckModes | None = None,
) -> list[Finding]:
    """Run every registered check (or those in ``only``) and return all findings.

    ``modes`` are the policy's check modes, loaded once by the caller for many drafts: the
    blocking findings of a check in observe mode come back marked ``observed``. Without
    them every check enforces.
    """
    draft.clear_facts()
    try:
        findings = _invoice_findings(draft, context, severity_overrides or {}, only)
    finally:
        # The draft may be edited and checked again, so its facts do not outlive the checks.
        draft.clear_facts()
    if modes is not None:
        findings = modes.apply(findings, context)
    logger.debug(
        "checked draft %s of contract %s: %d findings",
        draft.invoice_id,
        draft.contract_number,
        len(findings),
    )
    return findings


def _invoice_findings(
    draft: Draft,
    context: CheckContext,
    overrides: Mapping[str, Severity],
    only: Iterable[str] | None,
) -> list[Finding]:
    wanted = set(only) if only is not None else None
    findings: list[Finding] = []
    for registered in _checks_in_order():
        if INVOICE not in registered.subjects:
            continue
        if wanted is not None and registered.code not in wanted:
            continue
        if registered.needs_contract and context.contract is None:
            continue
        severity = overrides.get(registered.code, registered.default_severity)
        for observation in registered.function(draft, context):
            findings.append(
                Finding(
                    code=registered.code,
                    severity=severity,
                    subject=observation.subject,
                    message=observation.message,
                    expected=observation.expected,
                    actual=observation.actual,
                    amount_at_stake=observation.amount_at_stake,
                    evidence=observation.evidence,
                )
            )
    return findings


def run_subject_checks(
    subject: str,
    record: object,
    context: object,
    *,
    severity_overrides: Mapping[str, Severity] | None = None,
    only: Iterable[str] | None = None,
    modes: CheckModes | None = None,
) -> list[Finding]:
    """Run the checks registered for ``subject`` on ``record`` and return all findings.

    The policy's check modes apply by check code in the scope of every contract (a purchase
    order or vendor invoice has no customer group or contract type).
    """
    if subject == INVOICE:
        raise ValueError("customer drafts are checked by run_checks")
    overrides = severity_overrides or {}
    wanted = set(only) if only is not None else None
    findings: list[Finding] = []
    for registered in _checks_in_order():
        if subject not in registered.subjects:
            continue
        if wanted is not None and registered.code not in wanted:
            continue
        severity = overrides.get(registered.code, registered.default_severity)
        observe = modes is not None and modes.mode_for(registered.code) == Mode.OBSERVE
        for observation in registered.function(record, context):
            findings.append(
                Finding(
                    code=registered.code,
                    severity=severity,
                    subject=observation.subject,
                    message=observation.message,
                    expected=observation.expected,
                    actual=observation.actual,
                    amount_at_stake=observation.amount_at_stake,
                    evidence=observation.evidence,
                    observed=observe and severity is Severity.BLOCK,
                )
            )
    return findings


def _load_families() -> None:
    # Importing a family module registers its checks.
    from billguard.checks import (  # noqa: F401
        amendments,
        commitments,
        completeness,
        coverage,
        emergency,
        parties,
        passthrough,
        pricing,
        tax,
    )
    from billguard.delivery import template_check  # noqa: F401
    from billguard.procurement.checks import load_procurement_checks

    load_procurement_checks()
