"""Amendments (change orders): drafted, signed with their document, approved into a version."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction

from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.registry.models import Amendment, Contract, ContractVersion, Document
from billguard.registry.services.contracts import contract_version_create
from billguard.registry.terms import AMENDABLE_FIELDS, LineTerms, VersionTerms, terms_from_version

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_DECIMAL_FIELDS = {"tax_rate", "po_ceiling", "minimum_commitment"}
_DATE_FIELDS = {"end_date"}
_LINE_FIELDS = {f.name for f in dataclasses.fields(LineTerms)} - {"line_code"}


def amendment_draft(
    *,
    contract: Contract,
    number: str,
    effective_from: dt.date,
    changes: dict[str, Any],
    description: str = "",
    by: User | None = None,
) -> Amendment:
    """Record a drafted amendment after checking that its changes name real fields."""
    if by is not None:
        authorize(by, "amendment_draft")
    validate_changes(changes)
    if Amendment.objects.filter(contract=contract, number=number).exists():
        raise RuleViolation(
            f"amendment {number!r} of contract {contract.number} already exists.",
            place="number",
            value=number,
        )
    return Amendment.objects.create(
        contract=contract,
        number=number,
        effective_from=effective_from,
        changes=changes,
        description=description,
    )


@transaction.atomic
def amendment_sign(
    *,
    amendment: Amendment,
    document: Document,
    signed_on: dt.date,
    actor: str = "system",
    by: User | None = None,
) -> Amendment:
    """Attach the signed document; the amendment then waits for approval in the registry."""
    if by is not None:
        authorize(by, "amendment_sign")
        actor = by.get_username()
    if amendment.status != Amendment.Status.DRAFTED:
        raise RuleViolation(
            f"amendment {amendment} is {amendment.status}, so it cannot be signed again.",
            place="status",
        )
    amendment.document = document
    amendment.signed_on = signed_on
    amendment.status = Amendment.Status.SIGNED
    amendment.save(update_fields=["document", "signed_on", "status"])
    audit_record(
        actor=actor,
        action="amendment.sign",
        record=amendment,
        before={"status": Amendment.Status.DRAFTED.value},
        after={"status": amendment.status, "document": document.pk, "signed_on": signed_on},
    )
    return amendment


@transaction.atomic
def amendment_approve(
    *, amendment: Amendment, approved_by: str, approved_on: dt.date, actor: str = ""
) -> ContractVersion:
    """Approve a signed amendment, creating the next contract version at its effective date.

    The audit entry names ``actor``, or ``approved_by`` when no actor is given.
    """
    amendment = Amendment.objects.select_for_update().get(pk=amendment.pk)
    if amendment.status != Amendment.Status.SIGNED:
        raise RuleViolation(
            f"amendment {amendment} is {amendment.status}; only a signed amendment is approved.",
            place="status",
            fix="Sign it and store the signed document first.",
        )
    current = (
        ContractVersion.objects.filter(contract_id=amendment.contract_id)
        .order_by("-version_number")
        .prefetch_related("lines", "discounts", "price_changes")
        .first()
    )
    if current is None:
        raise RuleViolation(f"contract {amendment.contract_id} has no version to amend.")
    terms = apply_changes(terms_from_version(current), amendment.changes)
    terms.effective_from = amendment.effective_from
    version = contract_version_create(
        contract=amendment.contract, terms=terms, amendment_id=amendment.pk
    )
    amendment.status = Amendment.Status.APPROVED
    amendment.approved_by = approved_by
    amendment.approved_on = approved_on
    amendment.save(update_fields=["status", "approved_by", "approved_on"])
    audit_record(
        actor=actor or approved_by,
        action="amendment.approve",
        record=amendment,
        before={"status": Amendment.Status.SIGNED.value, "version": current.version_number},
        after={
            "status": amendment.status,
            "version": version.version_number,
            "approved_by": approved_by,
            "approved_on": approved_on,
            "changes": amendment.changes,
        },
    )
    return version


def validate_changes(changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if name == "lines":
            if not isinstance(value, dict):
                raise InvalidInput(
                    "lines must map line codes to changed fields.", place="changes.lines"
                )
            for code, line_changes in value.items():
                if line_changes is None:
                    continue
                unknown = set(line_changes) - _LINE_FIELDS
                if unknown:
                    raise InvalidInput(
                        f"unknown line field(s) {', '.join(sorted(unknown))}.",
                        place=f"changes.lines.{code}",
                        fix=f"Use: {', '.join(sorted(_LINE_FIELDS))}.",
                    )
        elif name not in AMENDABLE_FIELDS:
            raise InvalidInput(
                f"{name!r} is not a contract term an amendment can change.",
                place=f"changes.{name}",
                fix=f"Use one of: {', '.join(AMENDABLE_FIELDS)}, lines.",
            )


def apply_changes(terms: VersionTerms, changes: dict[str, Any]) -> VersionTerms:
    """Return ``terms`` with the amendment's ``changes`` applied (JSON values parsed)."""
    result = dataclasses.replace(terms, lines=[dataclasses.replace(x) for x in terms.lines])
    for name, value in changes.items():
        if name == "lines":
            continue
        setattr(result, name, _parse_value(name, value))
    for code, line_changes in changes.get("lines", {}).items():
        existing = next((line for line in result.lines if line.line_code == code), None)
        if line_changes is None:
            result.lines = [line for line in result.lines if line.line_code != code]
            continue
        parsed = {key: _parse_line_value(key, val) for key, val in line_changes.items()}
        if existing is None:
            result.lines.append(LineTerms(line_code=code, **parsed))
        else:
            for key, val in parsed.items():
                setattr(existing, key, val)
    return result


def _parse_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _DECIMAL_FIELDS:
        return Decimal(str(value))
    if name in _DATE_FIELDS:
        return dt.date.fromisoformat(str(value))
    return value


def _parse_line_value(name: str, value: Any) -> Any:
    if value is not None and name in {"unit_price", "quantity", "tax_rate"}:
        return Decimal(str(value))
    return value
