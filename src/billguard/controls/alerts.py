"""Alerts: subscriptions by email or webhook, emitted in a write's transaction, sent after commit.

``alert_emit`` stores one ``AlertDelivery`` per active subscription of the event and registers
an on-commit callback that sends them, so a rolled-back write sends nothing. A delivery
that fails is retried by ``alerts_deliver`` with exponential backoff until it is sent or has
failed ``MAX_ATTEMPTS`` times; its row is the delivery log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import smtplib
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billguard.controls.models import AlertDelivery, AlertSubscription, ChangeRequest
from billguard.controls.models.alerts import AlertEvent
from billguard.controls.policy import policy_setting
from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput

logger = logging.getLogger(__name__)

# A delivery is tried at most MAX_ATTEMPTS times. The wait after failed attempt n is
# BACKOFF_MINUTES[n - 1], so the fifth failure marks the delivery failed.
MAX_ATTEMPTS = 5
BACKOFF_MINUTES = (1, 2, 4, 8)
WEBHOOK_TIMEOUT_SECONDS = 10
# Seconds for which a claimed delivery is reserved for its sender before another may try it.
CLAIM_SECONDS = 120
SIGNATURE_HEADER = "X-Billguard-Signature"
EVENT_HEADER = "X-Billguard-Event"
DELIVERY_HEADER = "X-Billguard-Delivery"
# Deliveries that one alerts_deliver call tries at most.
DELIVER_BATCH = 500


@dataclass(frozen=True)
class Alert:
    """One alert to emit: its subject line, its data, and for once-only alerts a key."""

    subject: str
    payload: dict[str, Any]
    # Alerts with the same event and key reach each subscription once, checked against the
    # delivery log.
    key: str = ""


@dataclass
class DeliveryCounts:
    """Counts of one sending pass: sent, failed for now (retried later), failed for good."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SweepCounts:
    overdue: int
    expiring: int


class DeliveryError(Exception):
    """Sending one delivery failed; the message goes to the delivery's last_error."""


@transaction.atomic
def alert_subscribe(
    *,
    by: User | None = None,
    event: str,
    channel: str,
    address: str,
    secret: str = "",
) -> AlertSubscription:
    """Subscribe ``address`` (an email address or a webhook URL) to ``event``.

    A webhook needs a ``secret``, the key of the HMAC-SHA256 signature of every request.
    """
    if by is not None:
        authorize(by, "alert_subscribe")
    address = address.strip()
    _validate_subscription(event=event, channel=channel, address=address, secret=secret)

    subscription = AlertSubscription.objects.create(
        event=event, channel=channel, address=address, secret=secret, created_by=by
    )
    audit_record(
        actor=by.get_username() if by is not None else DEFAULT_ACTOR,
        action="alert.subscribe",
        record=subscription,
        before=None,
        # The secret is never written to the audit trail.
        after={"event": event, "channel": channel, "address": address},
    )
    logger.info("alert subscription %s: %s by %s to %s", subscription.pk, event, channel, address)
    return subscription


def alert_emit(*, event: str, subject: str, payload: dict[str, Any]) -> int:
    """Store one delivery of ``event`` per active subscription; return how many.

    Call it inside the transaction of the write that the alert reports: the deliveries are
    sent after that transaction commits, and a rollback discards them unsent.
    """
    return alerts_emit(event=event, alerts=[Alert(subject=subject, payload=payload)])


def alerts_emit(*, event: str, alerts: Sequence[Alert]) -> int:
    """Store the deliveries of several alerts of one event, with one query for subscriptions.

    An alert with a ``key`` is skipped for a subscription that already has a delivery of the
    same event and key. Returns the number of deliveries stored.
    """
    if event not in AlertEvent.values:
        raise ValueError(f"unknown alert event {event!r}")
    if not alerts:
        return 0
    keys = {alert.key for alert in alerts if alert.key}
    subscriptions_query = AlertSubscription.objects.filter(event=event, active=True)
    if keys and transaction.get_connection().in_atomic_block:
        # On PostgreSQL, two sweeps at once wait here for each other, so the second one sees
        # the deliveries of the first and sends no alert twice.
        subscriptions_query = subscriptions_query.select_for_update()
    subscriptions = list(subscriptions_query)
    if not subscriptions:
        return 0

    already: set[tuple[int, str]] = set()
    if keys:
        already = {
            (subscription_id, str(key))
            for subscription_id, key in AlertDelivery.objects.filter(
                event=event, payload__key__in=sorted(keys)
            ).values_list("subscription_id", "payload__key")
        }
    now = timezone.now()
    deliveries = [
        AlertDelivery(
            subscription=subscription,
            event=event,
            payload=_payload(event, alert, now),
            next_attempt_at=now,
        )
        for alert in alerts
        for subscription in subscriptions
        if not (alert.key and (subscription.pk, alert.key) in already)
    ]
    if not deliveries:
        return 0
    AlertDelivery.objects.bulk_create(deliveries)
    ids = [delivery.pk for delivery in deliveries]
    # robust: a failure to send is logged and never undoes the write that committed.
    transaction.on_commit(partial(_deliver_committed, ids), robust=True)
    return len(deliveries)


def alerts_deliver(*, now: dt.datetime | None = None) -> DeliveryCounts:
    """Send the pending deliveries that are due at ``now``, oldest first."""
    now = now or timezone.now()
    due = (
        AlertDelivery.objects.filter(status=AlertDelivery.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .select_related("subscription")
        .order_by("next_attempt_at", "pk")[:DELIVER_BATCH]
    )
    return _deliveries_send(list(due), now)


def alerts_sweep(*, now: dt.datetime | None = None) -> SweepCounts:
    """Emit exception.overdue for overdue held invoices and approval.expiring for requests.

    A held invoice is overdue once it has been held longer than the policy's
    exception_deadline_days. A pending change request is expiring once its expiry is within
    approval_expiry_warning_hours. Each reaches each subscription once.
    """
    # Imported here because the billing app imports the controls app.
    from billguard.billing.models import Invoice

    now = now or timezone.now()
    deadline = now - dt.timedelta(days=int(policy_setting("exception_deadline_days")))
    warning = now + dt.timedelta(hours=int(policy_setting("approval_expiry_warning_hours")))

    with transaction.atomic():
        # A re-run stores a held draft again with a new id but the time of its first hold.
        # The alert's key is the draft key (contract and period), so it is not sent again.
        held = (
            Invoice.objects.filter(status=Invoice.Status.HELD, held_since__lt=deadline)
            .select_related("contract")
            .order_by("pk")
        )
        overdue = [_overdue_alert(invoice, now) for invoice in held]
        requests = (
            ChangeRequest.objects.filter(
                status=ChangeRequest.Status.PENDING, expires_at__gt=now, expires_at__lte=warning
            )
            .select_related("requested_by")
            .order_by("pk")
        )
        expiring = [_expiring_alert(request, now) for request in requests]
        counts = SweepCounts(
            overdue=alerts_emit(event=AlertEvent.EXCEPTION_OVERDUE, alerts=overdue),
            expiring=alerts_emit(event=AlertEvent.APPROVAL_EXPIRING, alerts=expiring),
        )
    logger.info(
        "alert sweep: %d overdue exception deliveries, %d expiring approval deliveries",
        counts.overdue,
        counts.expiring,
    )
    return counts


def webhook_signature(secret: str, body: bytes) -> str:
    """Return the X-Billguard-Signature value: ``sha256=`` and the hex HMAC-SHA256 of body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


# Validation


def _validate_subscription(*, event: str, channel: str, address: str, secret: str) -> None:
    if event not in AlertEvent.values:
        raise InvalidInput(
            f"alert event {event!r} is unknown.",
            place="event",
            value=event,
            fix=f"Use one of: {', '.join(AlertEvent.values)}.",
        )
    for name, value in (("address", address), ("secret", secret)):
        max_length = getattr(AlertSubscription._meta.get_field(name), "max_length", None)
        if max_length is not None and len(value) > max_length:
            raise InvalidInput(
                f"the {name} is {len(value)} characters long, over the limit of {max_length}.",
                place=name,
                fix=f"Use a {name} of at most {max_length} characters.",
            )
    if channel == AlertSubscription.Channel.EMAIL:
        try:
            validate_email(address)
        except ValidationError:
            raise InvalidInput(
                f"{address!r} is not a valid email address.",
                place="email",
                value=address,
                fix="Give an address such as finance@example.com.",
            ) from None
        return
    if channel != AlertSubscription.Channel.WEBHOOK:
        raise InvalidInput(
            f"alert channel {channel!r} is unknown.",
            place="channel",
            value=channel,
            fix=f"Use one of: {', '.join(AlertSubscription.Channel.values)}.",
        )
    try:
        url = urlsplit(address)
        host = url.hostname
    except ValueError:
        host = None
        url = None
    if url is None or url.scheme not in ("http", "https") or not host:
        raise InvalidInput(
            f"{address!r} is not a valid webhook URL.",
            place="webhook",
            value=address,
            fix="Give an http:// or https:// URL with a host, such as "
            "https://hooks.example.com/billguard.",
        )
    if not secret:
        raise InvalidInput(
            "a webhook subscription needs a secret.",
            place="secret",
            fix="Give the shared key that the receiver uses to check the "
            f"{SIGNATURE_HEADER} header.",
        )


# Sending


def _deliver_committed(ids: list[int]) -> None:
    deliveries = list(
        AlertDelivery.objects.filter(pk__in=ids, status=AlertDelivery.Status.PENDING)
        .select_related("subscription")
        .order_by("pk")
    )
    _deliveries_send(deliveries, timezone.now())


def _deliveries_send(deliveries: list[AlertDelivery], now: dt.datetime) -> DeliveryCounts:
    """Send each delivery once; a failure schedules a retry or marks the delivery failed.

    After one failure of a subscription, its other deliveries of this pass are left for the
    next pass, so that a receiver that is down costs one timeout, not one per alert.
    """
    counts = DeliveryCounts()
    down: set[int] = set()
    for delivery in deliveries:
        if delivery.subscription_id in down or not _claim(delivery, now):
            continue
        try:
            _send(delivery)
        except DeliveryError as error:
            down.add(delivery.subscription_id)
            _failure_record(delivery, str(error), now, counts)
            continue
        delivery.status = AlertDelivery.Status.SENT
        delivery.attempts += 1
        delivery.sent_at = timezone.now()
        delivery.next_attempt_at = None
        delivery.last_error = ""
        delivery.save(
            update_fields=["status", "attempts", "sent_at", "next_attempt_at", "last_error"]
        )
        counts.sent += 1
        logger.info(
            "alert delivery %s (%s, subscription %s) sent on attempt %d",
            delivery.pk,
            delivery.event,
            delivery.subscription_id,
            delivery.attempts,
        )
    return counts


def _claim(delivery: AlertDelivery, now: dt.datetime) -> bool:
    """Take ``delivery`` for this sender, unless another sender took or finished it first."""
    lease = now + dt.timedelta(seconds=CLAIM_SECONDS)
    claimed = AlertDelivery.objects.filter(
        pk=delivery.pk,
        status=AlertDelivery.Status.PENDING,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
    ).update(next_attempt_at=lease)
    if claimed:
        delivery.next_attempt_at = lease
    return bool(claimed)


def _failure_record(
    delivery: AlertDelivery, error: str, now: dt.datetime, counts: DeliveryCounts
) -> None:
    delivery.attempts += 1
    delivery.last_error = error[:2000]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = AlertDelivery.Status.FAILED
        delivery.next_attempt_at = None
        counts.failed += 1
        logger.error(
            "alert delivery %s (%s, subscription %s) failed for good after %d attempts: %s",
            delivery.pk,
            delivery.event,
            delivery.subscription_id,
            delivery.attempts,
            error,
        )
    else:
        wait = BACKOFF_MINUTES[min(delivery.attempts, len(BACKOFF_MINUTES)) - 1]
        delivery.next_attempt_at = now + dt.timedelta(minutes=wait)
        counts.retrying += 1
        logger.warning(
            "alert delivery %s (%s, subscription %s) failed on attempt %d, retry at %s: %s",
            delivery.pk,
            delivery.event,
            delivery.subscription_id,
            delivery.attempts,
            delivery.next_attempt_at.isoformat(),
            error,
        )
    counts.errors.append(f"delivery {delivery.pk}: {error}")
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "last_error"])


def _send(delivery: AlertDelivery) -> None:
    subscription = delivery.subscription
    if not subscription.active:
        raise DeliveryError(f"subscription {subscription.pk} is no longer active")
    if subscription.channel == AlertSubscription.Channel.EMAIL:
        _email_send(delivery)
    else:
        _webhook_send(delivery)


def _email_send(delivery: AlertDelivery) -> None:
    payload = delivery.payload
    body = "\n".join(
        [
            payload.get("subject", ""),
            "",
            f"Event: {delivery.event}",
            f"Emitted at: {payload.get('emitted_at', '')}",
            "",
            json.dumps(payload.get("data", {}), indent=2, sort_keys=True, cls=DjangoJSONEncoder),
        ]
    )
    message = EmailMessage(
        subject=f"[Billguard] {payload.get('subject', delivery.event)}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.subscription.address],
        headers={EVENT_HEADER: delivery.event, DELIVERY_HEADER: str(delivery.pk)},
    )
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(
            f"email to {delivery.subscription.address} through "
            f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT} failed: {error}"
        ) from error


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Treat a redirect as a failure: urllib would repeat a POST as a GET without its body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _webhook_send(delivery: AlertDelivery) -> None:
    subscription = delivery.subscription
    body = json.dumps(
        {
            "delivery": delivery.pk,
            "event": delivery.event,
            "subject": delivery.payload.get("subject", ""),
            "emitted_at": delivery.payload.get("emitted_at", ""),
            "data": delivery.payload.get("data", {}),
        },
        sort_keys=True,
        cls=DjangoJSONEncoder,
    ).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 (alert_subscribe accepts only http and https)
        subscription.address,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Billguard alerts",
            SIGNATURE_HEADER: webhook_signature(subscription.secret, body),
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: str(delivery.pk),
        },
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"webhook {subscription.address} returned HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryError(f"webhook {subscription.address} failed: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook {subscription.address} returned HTTP {status}")


# Alerts of the sweep


def _payload(event: str, alert: Alert, now: dt.datetime) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "subject": alert.subject,
        "emitted_at": now.isoformat(),
        # Normalised through JSON so that dates and Decimals are stored as text.
        "data": json.loads(json.dumps(alert.payload, cls=DjangoJSONEncoder)),
    }
    if alert.key:
        payload["key"] = alert.key
    return payload


def _overdue_alert(invoice: Any, now: dt.datetime) -> Alert:
    contract = invoice.contract.number if invoice.contract else ""
    days = (now - invoice.held_since).days
    return Alert(
        subject=f"Held invoice of contract {contract or invoice.pk} open for {days} days",
        payload={
            "invoice_id": invoice.pk,
            "contract": contract,
            "draft_key": invoice.draft_key or "",
            "held_since": invoice.held_since,
            "days_open": days,
            "currency": invoice.currency,
            "payable": invoice.payable,
        },
        key=f"invoice:{invoice.draft_key or invoice.pk}",
    )


def _expiring_alert(request: ChangeRequest, now: dt.datetime) -> Alert:
    assert request.expires_at is not None
    hours = int((request.expires_at - now).total_seconds() // 3600)
    label = request.target_label or request.target_id
    return Alert(
        subject=f"Change request {request.pk} ({request.target} {label}) expires in {hours} h",
        payload={
            "change_request_id": request.pk,
            "target": request.target,
            "target_id": request.target_id,
            "target_label": request.target_label,
            "categories": request.categories,
            "requested_by": request.requested_by.get_username(),
            "expires_at": request.expires_at,
        },
        key=f"change_request:{request.pk}",
    )
