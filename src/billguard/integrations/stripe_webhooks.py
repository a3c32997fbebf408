"""Receive Stripe's invoice.created webhook: verify its signature, check the draft, record it.

Stripe signs each delivery with the endpoint's signing secret (``whsec_...``) and sends the
``Stripe-Signature`` header ``t=<Unix time>,v1=<hex>[,v1=<hex>...]``. Each ``v1`` value is
the HMAC-SHA256, under the secret, of ``"<t>.<raw request body>"``; there is more than one
while Stripe rolls the secret. A delivery is accepted when one ``v1`` value matches (compared
in constant time) and ``t`` is within TOLERANCE_SECONDS of now. Other schemes (``v0``) are
ignored.

The secret comes from settings.STRIPE_WEBHOOK_SECRET (environment variable
BILLGUARD_STRIPE_WEBHOOK_SECRET).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billguard.checks.external import external_check_record
from billguard.checks.guard import check_documents
from billguard.checks.models import ExternalDraftCheck
from billguard.domain.errors import InvalidInput
from billguard.integrations.json_input import json_load
from billguard.integrations.stripe_invoices import stripe_invoice_draft

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"
SIGNATURE_SCHEME = "v1"
# Stripe's libraries reject a signature older than 300 s by default; so does this receiver,
# and one more than 300 s in the future too.
TOLERANCE_SECONDS = 300
CHECKED_EVENT = "invoice.created"
SENT_BY = "stripe webhook"


class SignatureInvalid(InvalidInput):
    """The Stripe-Signature header is missing, malformed, stale or matches no signature."""

    code = "SIGNATURE_INVALID"


class WebhookNotConfigured(InvalidInput):
    """No signing secret is set, so no delivery can be verified."""

    code = "WEBHOOK_NOT_CONFIGURED"


@dataclass(frozen=True)
class StripeReceipt:
    """The response body of one delivery."""

    event_id: str
    event_type: str
    status: str  # "checked" or "ignored"
    check_id: int | None = None
    invoice: str = ""
    contract: str = ""
    blocked: bool | None = None
    codes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "status": self.status,
            "check_id": self.check_id,
            "invoice": self.invoice,
            "contract": self.contract,
            "blocked": self.blocked,
            "findings": self.codes,
        }


def stripe_signature(secret: str, payload: bytes, timestamp: int) -> str:
    """Return the hex HMAC-SHA256 of ``"<timestamp>.<payload>"`` under ``secret``."""
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def stripe_signature_header(payload: bytes, *secrets: str, timestamp: int) -> str:
    """Return a Stripe-Signature header with one v1 signature per secret, as Stripe sends it."""
    parts = [f"t={timestamp}"]
    parts += [f"{SIGNATURE_SCHEME}={stripe_signature(s, payload, timestamp)}" for s in secrets]
    return ",".join(parts)


def stripe_signature_verify(
    payload: bytes,
    header: str,
    secret: str,
    *,
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """Return the header's timestamp, or raise SignatureInvalid.

    ``now`` is the current Unix time in seconds.
    """
    if not secret:
        raise WebhookNotConfigured(
            "no Stripe webhook signing secret is set, so the delivery cannot be verified.",
            place="BILLGUARD_STRIPE_WEBHOOK_SECRET",
            fix="Set BILLGUARD_STRIPE_WEBHOOK_SECRET to the endpoint's signing secret "
            "(whsec_...) from Stripe's webhook settings and restart the server.",
        )
    timestamp, signatures = _header_parse(header)
    if abs(now - timestamp) > tolerance:
        raise SignatureInvalid(
            f"the signature's timestamp {timestamp} is {abs(now - timestamp)} s from now, more "
            f"than the {tolerance} s allowed.",
            place=SIGNATURE_HEADER,
            value=timestamp,
            fix="Check the server's clock; Stripe signs each retry anew.",
        )
    expected = stripe_signature(secret, payload, timestamp)
    # compare_digest on every value, so the time taken does not depend on where one matches.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    if not any(matches):
        raise SignatureInvalid(
            "no v1 signature matches the body under the signing secret.",
            place=SIGNATURE_HEADER,
            fix="Set BILLGUARD_STRIPE_WEBHOOK_SECRET to this endpoint's signing secret, and "
            "pass the request body on unchanged.",
        )
    return timestamp


def stripe_event_receive(
    payload: bytes,
    signature_header: str,
    *,
    secret: str | None = None,
    now: dt.datetime | None = None,
) -> StripeReceipt:
    """Verify a delivery, and check and record the draft of an invoice.created event.

    Other event types are logged and ignored. A redelivered event (same event id) records
    nothing new and returns the receipt of its first delivery.
    """
    current = now or timezone.now()
    stripe_signature_verify(
        payload,
        signature_header,
        settings.STRIPE_WEBHOOK_SECRET if secret is None else secret,
        now=int(current.timestamp()),
    )
    event = _event_parse(payload)
    event_id, event_type = event["id"], event["type"]
    if event_type != CHECKED_EVENT:
        logger.info("Stripe event %s of type %s ignored", event_id, event_type)
        return StripeReceipt(event_id=event_id, event_type=event_type, status="ignored")

    recorded = _recorded(event_id)
    if recorded is not None:
        logger.info("Stripe event %s redelivered; check %s already recorded", event_id, recorded.pk)
        return _receipt(recorded, event_type)

    draft = stripe_invoice_draft(event["data"]["object"], place=f"event {event_id}, data.object")
    created = event["data"]["object"].get("created")
    as_of = (
        dt.datetime.fromtimestamp(created, tz=dt.UTC).date()
        if isinstance(created, int) and not isinstance(created, bool)
        else current.date()
    )
    [result] = check_documents([draft.document], as_of=as_of)
    try:
        with transaction.atomic():
            check = external_check_record(
                result,
                draft=draft,
                source=ExternalDraftCheck.Source.STRIPE,
                as_of=as_of,
                sent_by=SENT_BY,
                event_id=event_id,
            )
    except IntegrityError:
        # Two deliveries of one event at once: the other one recorded it first.
        recorded = _recorded(event_id)
        if recorded is None:
            raise
        logger.info(
            "Stripe event %s recorded by a concurrent delivery as check %s", event_id, recorded.pk
        )
        return _receipt(recorded, event_type)
    logger.info(
        "Stripe event %s: invoice %s checked as check %s, %s",
        event_id,
        check.external_id,
        check.pk,
        "would be held" if check.blocked else "clean",
    )
    return _receipt(check, event_type)


def _header_parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures = []
    for item in (header or "").split(","):
        key, separator, value = item.strip().partition("=")
        if not separator:
            continue
        if key == "t":
            timestamp = int(value) if value.isdigit() else None
        elif key == SIGNATURE_SCHEME and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureInvalid(
            "the Stripe-Signature header is missing, or lacks t=<timestamp> or a v1 signature.",
            place=SIGNATURE_HEADER,
            value=(header or "")[:200],
            fix="Send the delivery as Stripe signs it: t=<Unix time>,v1=<hex HMAC-SHA256>.",
        )
    return timestamp, signatures


def _event_parse(payload: bytes) -> dict[str, Any]:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"the body is not UTF-8 text: byte {error.start} cannot be decoded.",
            place="body",
            value=error.start,
            fix="Send the Stripe event as JSON.",
        ) from error
    event = json_load(text, source="body")
    if not isinstance(event, Mapping):
        raise InvalidInput(
            "the body is not a JSON object.",
            place="body",
            fix="Send the Stripe event object.",
        )
    for key in ("id", "type"):
        if not isinstance(event.get(key), str) or not event[key]:
            raise InvalidInput(
                f"the event has no {key}.",
                place=f"body, {key}",
                value=event.get(key),
                fix="Send the Stripe event object unchanged.",
            )
    data = event.get("data")
    if event["type"] == CHECKED_EVENT and not (
        isinstance(data, Mapping) and isinstance(data.get("object"), Mapping)
    ):
        raise InvalidInput(
            "the event has no data.object.",
            place="body, data.object",
            fix="Send the Stripe event object unchanged.",
        )
    return dict(event)


def _recorded(event_id: str) -> ExternalDraftCheck | None:
    return ExternalDraftCheck.objects.filter(
        source=ExternalDraftCheck.Source.STRIPE, event_id=event_id
    ).first()


def _receipt(check: ExternalDraftCheck, event_type: str) -> StripeReceipt:
    return StripeReceipt(
        event_id=check.event_id,
        event_type=event_type,
        status="checked",
        check_id=check.pk,
        invoice=check.external_id,
        contract=check.contract_number,
        blocked=check.blocked,
        codes=sorted({str(f["code"]) for f in check.findings}),
    )
