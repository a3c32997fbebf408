"""Completeness of the contract: the draft's contract exists, is in force and is complete."""

from __future__ import annotations

from collections.abc import Iterator

from billguard.checks.context import CheckContext, Draft
from billguard.checks.engine import check
from billguard.checks.finding import Observation, Severity
from billguard.domain.money import Money
from billguard.registry.mandatory import FIELD_LABELS, missing_fields

FAMILY = "completeness"


def invoice_total(draft: Draft) -> Money:
    """The whole draft is at stake when its contract cannot back it."""
    return Money(draft.document.totals.payable, draft.document.currency)


@check("CONTRACT_NOT_FOUND", family=FAMILY, severity=Severity.BLOCK, needs_contract=False)
def contract_not_found(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    if context.contract is not None:
        return
    if not draft.contract_number:
        message = "the draft names no contract, and none matches its buyer and order reference"
    else:
        message = f"contract {draft.contract_number} is not in the registry"
    yield Observation(
        subject="invoice",
        message=message,
        expected="a contract of the registry",
        actual=draft.contract_number or "(none)",
        amount_at_stake=invoice_total(draft),
    )


@check("CONTRACT_NOT_ACTIVE", family=FAMILY, severity=Severity.BLOCK)
def contract_not_active(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    start, end = draft.service_start, draft.service_end
    if start is None or not context.versions:
        return
    first = min(context.versions, key=lambda v: v.effective_from)
    if end is not None and end >= first.effective_from and start >= first.effective_from:
        return
    yield Observation(
        subject="service period",
        message=(
            f"the service period {start} to {end} starts before the contract takes effect "
            f"on {first.effective_from}"
        ),
        expected=f"on or after {first.effective_from}",
        actual=f"{start} to {end}",
        amount_at_stake=invoice_total(draft),
        evidence=context.contract_evidence(first),
    )


@check("CONTRACT_FIELD_MISSING", family=FAMILY, severity=Severity.BLOCK)
def contract_field_missing(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    assert context.contract is not None
    version = context.version_on(draft.service_start)
    if version is None:
        return
    for name in missing_fields(version, context.contract.contract_type, context.mandatory_fields):
        if name == "sow_document":
            continue  # SOW_MISSING reports it, with the document rules.
        yield Observation(
            subject=f"contract field {name}",
            message=(
                f"the {FIELD_LABELS.get(name, name)} of contract {context.contract.number} "
                f"version {version.version_number} is empty, and a "
                f"{context.contract.contract_type} contract must have one"
            ),
            expected=f"a {FIELD_LABELS.get(name, name)}",
            actual="(empty)",
            amount_at_stake=invoice_total(draft),
            evidence=context.contract_evidence(version),
        )


@check("SOW_MISSING", family=FAMILY, severity=Severity.BLOCK)
def sow_missing(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    version = context.version_on(draft.service_start)
    if version is None:
        return
    document = version.sow_document
    if document is not None and document.signed_on is not None:
        return
    actual = (
        "(none)" if document is None else f"{document.family} rev {document.revision}, unsigned"
    )
    yield Observation(
        subject="SOW document",
        message=(
            f"contract {version.contract.number} version {version.version_number} has no "
            "signed SOW document"
        ),
        expected="a signed SOW document",
        actual=actual,
        amount_at_stake=invoice_total(draft),
        evidence=context.contract_evidence(version),
    )


@check("SOW_SUPERSEDED", family=FAMILY, severity=Severity.BLOCK)
def sow_superseded(draft: Draft, context: CheckContext) -> Iterator[Observation]:
    version = context.version_on(draft.service_start)
    if version is None or version.sow_document is None:
        return
    priced_from = version.sow_document
    newer = [
        document
        for document in context.documents.get(priced_from.family, [])
        if document.revision > priced_from.revision and document.signed_on is not None
    ]
    if not newer:
        return
    latest = max(newer, key=lambda d: d.revision)
    yield Observation(
        subject="SOW document",
        message=(
            f"the draft is priced from {priced_from.family} revision {priced_from.revision}, "
            f"but revision {latest.revision} was signed on {latest.signed_on}"
        ),
        expected=f"revision {latest.revision} (sha256 {latest.sha256[:12]})",
        actual=f"revision {priced_from.revision} (sha256 {priced_from.sha256[:12]})",
        amount_at_stake=invoice_total(draft),
        evidence={
            **context.contract_evidence(version),
            "superseding_document": f"{latest.family} rev {latest.revision}",
            "superseding_sha256": latest.sha256,
        },
    )
