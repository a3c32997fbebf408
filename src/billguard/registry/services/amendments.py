"""Amendments (change orders): drafted, signed with their document, approved into a version."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db import transaction

from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, RuleViolation
from billguard.registry.models import Amendment, Contract, ContractVersion, Document
from billguard.registry.services.contracts import contract_version_create, validate_terms
from billguard.registry.terms import (
    AMENDABLE_FIELDS,
    DiscountTerms,
    LineTerms,
    VersionTerms,
    terms_from_version,
)

if TYPE_CHECKING:
    from billguard.controls.models import ChangeRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

_DECIMAL_FIELDS = {"tax_rate", "po_ceiling", "minimum_commitment"}
_DATE_FIELDS = {"end_date"}
_INTEGER_FIELDS = {
    "billing_day",
    "payment_terms_days",
    "renewal_months",
    "bill_to_id",
    "price_list_id",
    "sow_document_id",
}
_BOOLEAN_FIELDS = {"approved_discounts"}
_LINE_FIELDS = {f.name for f in dataclasses.fields(LineTerms)} - {"line_code"}
_LINE_DECIMAL_FIELDS = {"unit_price", "quantity", "tax_rate"}
_DISCOUNT_FIELDS = {f.name for f in dataclasses.fields(DiscountTerms)}
# Besides the version fields and "lines", an amendment may replace the list of discounts.
DISCOUNTS = "discounts"


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

    Trusted in-process callers (sample seeding, tests) approve with it directly. A person
    asks for approval with :func:`amendment_request_approval`, so that the approvals that
    the policy requires are counted.
    The audit entry names ``actor``, or ``approved_by`` when no actor is given.
    """
    return _amendment_version_create(
        amendment_id=amendment.pk,
        approved_by=approved_by,
        approved_on=approved_on,
        actor=actor or approved_by,
        change_request=None,
    )


@transaction.atomic
def amendment_request_approval(*, amendment: Amendment, by: User, reason: str) -> ChangeRequest:
    """Ask for the approval of a signed amendment through a change request on its contract.

    Once the policy's approvals are in, the request approves the amendment (naming its
    approvers) and creates the next contract version at the amendment's effective date.
    """
    from billguard.controls.models import ChangeRequest
    from billguard.controls.requests import change_request_create

    # The lock keeps a second request for the same amendment from being made meanwhile.
    amendment = (
        Amendment.objects.select_for_update(of=("self",))
        .select_related("contract")
        .get(pk=amendment.pk)
    )
    if amendment.status != Amendment.Status.SIGNED:
        raise RuleViolation(
            f"amendment {amendment.number} of contract {amendment.contract.number} is "
            f"{amendment.status}, and only a signed amendment goes to approval.",
            place="status",
            value=amendment.status,
            fix="Sign it and store the signed document first.",
        )
    open_request = ChangeRequest.objects.filter(
        amendment=amendment,
        status__in=[ChangeRequest.Status.PENDING, ChangeRequest.Status.APPROVED],
    ).first()
    if open_request is not None:
        raise RuleViolation(
            f"amendment {amendment.number} of contract {amendment.contract.number} already "
            f"waits for approval in change request {open_request.pk}.",
            place="amendment",
            value=amendment.number,
            fix="Approve, reject or withdraw that request first.",
        )
    return change_request_create(
        by=by,
        target="contract",
        target_id=amendment.contract_id,
        changes=amendment.changes,
        reason=reason,
        effective_from=amendment.effective_from,
        amendment=amendment,
    )


def amendment_apply_request(
    *, request: ChangeRequest, approved_by: str, approved_on: dt.date, actor: str
) -> ContractVersion:
    """Approve the amendment of an approved change request and create its version.

    The caller holds the transaction and the lock on the request.
    """
    if request.amendment_id is None:
        raise ValueError(f"change request {request.pk} has no amendment")
    return _amendment_version_create(
        amendment_id=request.amendment_id,
        approved_by=approved_by,
        approved_on=approved_on,
        actor=actor,
        change_request=request,
    )


def _amendment_version_create(
    *,
    amendment_id: int,
    approved_by: str,
    approved_on: dt.date,
    actor: str,
    change_request: ChangeRequest | None,
) -> ContractVersion:
    amendment = Amendment.objects.select_for_update().get(pk=amendment_id)
    if amendment.status != Amendment.Status.SIGNED:
        raise RuleViolation(
            f"amendment {amendment} is {amendment.status}; only a signed amendment is approved.",
            place="status",
            fix="Sign it and store the signed document first.",
        )
    current = latest_version(amendment.contract_id)
    terms = apply_changes(terms_from_version(current), amendment.changes)
    terms.effective_from = amendment.effective_from
    version = contract_version_create(
        contract=amendment.contract, terms=terms, amendment_id=amendment.pk
    )
    if change_request is not None:
        # Set in the transaction that wrote the version, which is never updated afterwards.
        ContractVersion.objects.filter(pk=version.pk).update(change_request=change_request)
        version.change_request = change_request
    amendment.status = Amendment.Status.APPROVED
    amendment.approved_by = approved_by[:150]
    amendment.approved_on = approved_on
    amendment.save(update_fields=["status", "approved_by", "approved_on"])
    audit_record(
        actor=actor,
        action="amendment.approve",
        record=amendment,
        before={"status": Amendment.Status.SIGNED.value, "version": current.version_number},
        after={
            "status": amendment.status,
            "version": version.version_number,
            "approved_by": amendment.approved_by,
            "approved_on": approved_on,
            "changes": amendment.changes,
            "change_request": change_request.pk if change_request is not None else None,
        },
    )
    return version


def latest_version(contract_id: int) -> ContractVersion:
    """Return the contract's latest version with its lines, discounts and price changes."""
    current = (
        ContractVersion.objects.filter(contract_id=contract_id)
        .order_by("-version_number")
        .prefetch_related("lines", "discounts", "price_changes")
        .first()
    )
    if current is None:
        raise RuleViolation(f"contract {contract_id} has no version to amend.")
    return current


def terms_with_changes(version: ContractVersion, changes: dict[str, Any]) -> VersionTerms:
    """Return the terms of ``version`` with ``changes`` applied, every value checked.

    Raises InvalidInput naming the attribute (``changes.lines.L1.unit_price``) for an
    unknown name, a value of the wrong type, or terms that are invalid once changed.
    """
    validate_changes(changes)
    for name, value in changes.items():
        if name == "lines":
            continue
        if name == DISCOUNTS:
            _check_discounts(value)
        else:
            _check_value(f"changes.{name}", name, value)
    codes = {line.line_code for line in version.lines.all()}
    for code, line_changes in changes.get("lines", {}).items():
        place = f"changes.lines.{code}"
        if line_changes is None:
            if code not in codes:
                raise InvalidInput(
                    f"contract line {code!r} does not exist, so it cannot be removed.",
                    place=place,
                    value=code,
                    fix=f"Use one of: {', '.join(sorted(codes)) or '(no lines)'}.",
                )
            continue
        if not isinstance(line_changes, dict):
            raise InvalidInput(
                f"the changes of line {code} must map line fields to values.",
                place=place,
                value=line_changes,
                fix='Give the fields, such as {"unit_price": "120.00"}, or null to remove it.',
            )
        for key, value in line_changes.items():
            if key in _LINE_DECIMAL_FIELDS:
                _check_decimal(f"{place}.{key}", value)
        if code not in codes:
            missing = {"kind", "description"} - set(line_changes)
            if missing:
                raise InvalidInput(
                    f"new line {code} lacks {', '.join(sorted(missing))}.",
                    place=place,
                    fix="A new line needs at least its kind and description.",
                )
    terms = apply_changes(terms_from_version(version), changes)
    validate_terms(terms)
    return terms


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
        elif name not in AMENDABLE_FIELDS and name != DISCOUNTS:
            raise InvalidInput(
                f"{name!r} is not a contract term an amendment can change.",
                place=f"changes.{name}",
                fix=f"Use one of: {', '.join(AMENDABLE_FIELDS)}, {DISCOUNTS}, lines.",
            )


def apply_changes(terms: VersionTerms, changes: dict[str, Any]) -> VersionTerms:
    """Return ``terms`` with the amendment's ``changes`` applied (JSON values parsed)."""
    result = dataclasses.replace(terms, lines=[dataclasses.replace(x) for x in terms.lines])
    for name, value in changes.items():
        if name == "lines":
            continue
        if name == DISCOUNTS:
            result.discounts = [_parse_discount(item) for item in value or []]
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


def _parse_discount(item: dict[str, Any]) -> DiscountTerms:
    expires_on = item.get("expires_on")
    return DiscountTerms(
        percent=Decimal(str(item["percent"])),
        line_code=item.get("line_code") or "",
        approval_reference=item.get("approval_reference") or "",
        expires_on=dt.date.fromisoformat(str(expires_on)) if expires_on else None,
    )


def _check_value(place: str, name: str, value: Any) -> None:
    if value is None:
        return
    if name in _DECIMAL_FIELDS:
        _check_decimal(place, value)
    elif name in _DATE_FIELDS:
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput(
                f"{value!r} is not a date.",
                place=place,
                value=value,
                fix="Give the date as YYYY-MM-DD.",
            ) from None
    elif name in _INTEGER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(
                f"{value!r} is not a whole number.",
                place=place,
                value=value,
                fix="Give a whole number without quotes, such as 45.",
            )
    elif name in _BOOLEAN_FIELDS:
        if not isinstance(value, bool):
            raise InvalidInput(
                f"{value!r} is not true or false.",
                place=place,
                value=value,
                fix="Use true or false.",
            )
    elif not isinstance(value, str):
        raise InvalidInput(
            f"{value!r} is not text.", place=place, value=value, fix="Give the value as text."
        )


def _check_decimal(place: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, float | bool):
        raise InvalidInput(
            f"{value!r} is not an exact decimal number.",
            place=place,
            value=value,
            fix='Give the number as text, such as "120.00", so that no digit is lost.',
        )
    try:
        Decimal(str(value))
    except ArithmeticError:
        raise InvalidInput(
            f"{value!r} is not a number.",
            place=place,
            value=value,
            fix='Give the number as text, such as "120.00".',
        ) from None


def _check_discounts(value: Any) -> None:
    place = f"changes.{DISCOUNTS}"
    if not isinstance(value, list):
        raise InvalidInput(
            "discounts must be a list of discounts.",
            place=place,
            value=value,
            fix='Give the full list, such as [{"percent": "10", "line_code": "L1"}].',
        )
    for index, item in enumerate(value):
        item_place = f"{place}[{index}]"
        if not isinstance(item, dict) or "percent" not in item:
            raise InvalidInput(
                "a discount needs at least its percent.",
                place=item_place,
                value=item,
                fix='Give it as {"percent": "10", "line_code": "L1"}.',
            )
        unknown = set(item) - _DISCOUNT_FIELDS
        if unknown:
            raise InvalidInput(
                f"unknown discount field(s) {', '.join(sorted(unknown))}.",
                place=item_place,
                fix=f"Use: {', '.join(sorted(_DISCOUNT_FIELDS))}.",
            )
        _check_decimal(f"{item_place}.percent", item["percent"])
        _check_value(f"{item_place}.expires_on", "end_date", item.get("expires_on"))
