"""Checks of drafts finalised by other systems, returned at once and stored on request.

Guard mode (billguard.checks.guard) runs every check on a draft and stores nothing. The
services here run it for the HTTP endpoints, turn each result into JSON, and record a check
as an ExternalDraftCheck when the caller asks for it or a Stripe webhook delivers a draft.

Roles: any user with a role may check a draft without storing it, since that writes nothing.
Storing a check needs the ``billing_run`` action (finance, finance approver, administrator),
because the stored findings become part of the billing gate's record. Reading the stored checks
needs ``billing_run`` or ``audit_read``, which adds the auditor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from billguard.checks.guard import GuardResult, check_documents
from billguard.checks.models import ExternalDraftCheck
from billguard.controls.alerts import Alert, alerts_emit
from billguard.controls.models.alerts import AlertEvent
from billguard.controls.roles import authorize, has_action, user_roles
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, NotAllowed, NotFound
from billguard.domain.invoice import InvoiceDocument
from billguard.domain.money import Money

RECORD_ACTION = "billing_run"
READ_ACTIONS = ("billing_run", "audit_read")


@dataclass(frozen=True)
class ExternalDraft:
    """One draft to check, with what identifies it in the system that made it."""

    document: InvoiceDocument
    external_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def document_as_json(document: InvoiceDocument) -> dict[str, Any]:
    """Return the draft as JSON values: decimals and dates as strings, enums as their values."""
    return _json_value(dataclasses.asdict(document))


def result_as_json(result: GuardResult) -> dict[str, Any]:
    """Return one document's verdict: whether it would be held, and each finding."""
    document = result.document
    return {
        "number": document.number,
        "source": document.source,
        "contract": result.contract_number,
        "currency": document.currency,
        "payable": str(document.totals.payable),
        "blocked": result.blocked,
        "findings": [finding.as_dict() for finding in result.findings],
    }


def check_as_json(check: ExternalDraftCheck) -> dict[str, Any]:
    """Return a stored check as the API shows it, without the draft document."""
    return {
        "id": check.pk,
        "source": check.source,
        "external_id": check.external_id,
        "event_id": check.event_id,
        "number": check.document_number,
        "contract": check.contract_number,
        "currency": check.currency,
        "payable": str(Money.of(check.payable, check.currency).rounded().amount),
        "blocked": check.blocked,
        "findings": check.findings,
        "details": check.details,
        "sent_by": check.sent_by,
        "as_of": check.as_of.isoformat(),
        "created_at": check.created_at.isoformat(),
    }


def guard_authorize(by: User, *, store: bool) -> None:
    """Raise NotAllowed unless ``by`` may check drafts, and store the checks when ``store``."""
    if store:
        authorize(by, RECORD_ACTION)
        return
    if not user_roles(by):
        raise NotAllowed(
            f"{by.get_username()} has no role, so may not check drafts.",
            place="user",
            value=by.get_username(),
            fix="Ask an administrator to give you a role.",
        )


def checks_authorize_read(by: User) -> None:
    """Raise NotAllowed unless ``by`` may read the stored checks."""
    if any(has_action(by, action) for action in READ_ACTIONS):
        return
    roles = ", ".join(sorted(user_roles(by))) or "no role"
    raise NotAllowed(
        f"{by.get_username()} ({roles}) may not read the stored draft checks.",
        place="user",
        value=by.get_username(),
        fix="Ask a user with the finance, finance approver, administrator or auditor role.",
    )


def drafts_check(
    drafts: Sequence[ExternalDraft],
    *,
    as_of: dt.date,
    by: User,
    store: bool = False,
) -> list[tuple[GuardResult, ExternalDraftCheck | None]]:
    """Check drafts sent over the API; with ``store``, record each check in one transaction."""
    guard_authorize(by, store=store)
    results = check_documents([draft.document for draft in drafts], as_of=as_of)
    if not store:
        return [(result, None) for result in results]
    with transaction.atomic():
        checks = [
            external_check_record(
                result,
                draft=draft,
                source=ExternalDraftCheck.Source.API,
                as_of=as_of,
                sent_by=by.get_username(),
                user=by,
            )
            for draft, result in zip(drafts, results, strict=True)
        ]
    return list(zip(results, checks, strict=True))


def external_check_record(
    result: GuardResult,
    *,
    draft: ExternalDraft,
    source: str,
    as_of: dt.date,
    sent_by: str,
    user: User | None = None,
    event_id: str = "",
) -> ExternalDraftCheck:
    """Store one checked draft with an audit entry; emit invoice.held when it would be held.

    Must run in a transaction, so that the record, its audit entry and its alert commit
    together. The caller checks the permission (a webhook has no user).
    """
    document = result.document
    check = ExternalDraftCheck.objects.create(
        source=source,
        external_id=draft.external_id or document.number,
        event_id=event_id,
        document_number=document.number,
        contract_number=result.contract_number or "",
        currency=document.currency,
        payable=document.totals.payable,
        document=document_as_json(document),
        findings=[finding.as_dict() for finding in result.findings],
        blocked=result.blocked,
        details=_json_value(draft.details),
        sent_by=sent_by,
        user=user,
        as_of=as_of,
    )
    audit_record(
        actor=sent_by,
        action="external_check.record",
        record=check,
        before=None,
        after={
            "source": check.source,
            "external_id": check.external_id,
            "event_id": check.event_id,
            "contract": check.contract_number,
            "blocked": check.blocked,
            "codes": sorted({f.code for f in result.findings}),
        },
    )
    if check.blocked:
        _held_alert_emit(check, result)
    return check


def external_checks_query(
    *,
    source: str = "",
    blocked: bool | None = None,
    created_from: dt.date | None = None,
    created_to: dt.date | None = None,
) -> QuerySet[ExternalDraftCheck]:
    """Return the stored checks, newest first, filtered by source, verdict and creation day.

    ``created_from`` and ``created_to`` are days in UTC, both included.
    """
    if source and source not in ExternalDraftCheck.Source.values:
        raise InvalidInput(
            f"{source!r} is not a source of draft checks.",
            place="source",
            value=source,
            fix=f"Use one of {', '.join(ExternalDraftCheck.Source.values)}.",
        )
    if created_from and created_to and created_to < created_from:
        raise InvalidInput(
            f"the range ends on {created_to}, before it starts on {created_from}.",
            place="created_to",
            value=created_to.isoformat(),
            fix="Give a created_to on or after created_from.",
        )
    checks = ExternalDraftCheck.objects.order_by("-created_at", "-pk")
    if source:
        checks = checks.filter(source=source)
    if blocked is not None:
        checks = checks.filter(blocked=blocked)
    if created_from:
        checks = checks.filter(created_at__gte=_day_start(created_from))
    if created_to:
        checks = checks.filter(created_at__lt=_day_start(created_to + dt.timedelta(days=1)))
    return checks


def external_check_get(check_id: int) -> ExternalDraftCheck:
    found = ExternalDraftCheck.objects.filter(pk=check_id).first()
    if found is None:
        raise NotFound(
            f"no stored draft check has the id {check_id}.",
            place="id",
            value=check_id,
            fix="List the stored checks with GET /api/guard/checks/.",
        )
    return found


def _held_alert_emit(check: ExternalDraftCheck, result: GuardResult) -> None:
    """Emit invoice.held for a draft that Billguard would hold, as the billing run does.

    The payload has no invoice_id, because the draft is in the other system. It names the
    stored check, the source and the draft's id there instead.
    """
    codes = sorted({f.code for f in result.findings if f.blocks})
    document_payable = result.document.totals.payable
    label = check.external_id or check.document_number or f"check {check.pk}"
    contract = check.contract_number or "no contract"
    alerts_emit(
        event=AlertEvent.INVOICE_HELD,
        alerts=[
            Alert(
                subject=f"{check.source} draft {label} ({contract}) would be held: "
                + ", ".join(codes),
                payload={
                    "invoice_id": None,
                    "external_check_id": check.pk,
                    "source": check.source,
                    "external_id": check.external_id,
                    "contract": check.contract_number,
                    "currency": check.currency,
                    "payable": str(document_payable),
                    "blocking_findings": codes,
                },
            )
        ],
    )


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value
