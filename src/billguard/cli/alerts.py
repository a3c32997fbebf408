"""``billguard alerts``: subscribe to alerts, read the delivery log, retry and sweep."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from billguard.cli.main import EXIT_OK
from billguard.cli.users import acting_user, add_user_option


def add_parsers(sub: Any) -> None:
    """Add the ``alerts`` command and its actions to the subparsers ``sub``."""
    alerts = sub.add_parser("alerts", help="alerts by email or webhook, and their delivery log")
    actions = alerts.add_subparsers(dest="action", metavar="ACTION", required=True)

    subscribe = actions.add_parser(
        "subscribe",
        help="send an event's alerts to an email address or a webhook",
        description="Subscribe an email address or a webhook URL to an event. Webhook "
        "requests are JSON POSTs signed with X-Billguard-Signature: sha256=<hex HMAC-SHA256 "
        "of the body under the secret>.",
    )
    subscribe.add_argument(
        "--event",
        required=True,
        help="invoice.held, exception.overdue, approval.expiring, change.requested, ...",
    )
    target = subscribe.add_mutually_exclusive_group(required=True)
    target.add_argument("--email", metavar="ADDRESS", help="send the alerts to this address")
    target.add_argument("--webhook", metavar="URL", help="POST the alerts to this http(s) URL")
    subscribe.add_argument(
        "--secret",
        default=os.environ.get("BILLGUARD_WEBHOOK_SECRET", ""),
        help="the webhook's signing key (default: $BILLGUARD_WEBHOOK_SECRET)",
    )
    add_user_option(subscribe)
    subscribe.set_defaults(handler=alerts_subscribe_command)

    listing = actions.add_parser("list", help="list the subscriptions")
    listing.set_defaults(handler=alerts_list)

    deliveries = actions.add_parser("deliveries", help="show the delivery log, newest first")
    deliveries.add_argument(
        "--status", choices=["pending", "sent", "failed"], help="only deliveries in this status"
    )
    deliveries.add_argument(
        "--limit", type=int, default=50, metavar="N", help="rows to show (default 50)"
    )
    deliveries.set_defaults(handler=alerts_deliveries)

    deliver = actions.add_parser(
        "deliver",
        help="send the pending deliveries that are due, retrying failed ones",
        description="Send every pending delivery whose next attempt is due. A failure is "
        "retried after 1, 2, 4 and 8 minutes; the fifth failure marks the delivery failed.",
    )
    deliver.set_defaults(handler=alerts_deliver_command)

    sweep = actions.add_parser(
        "sweep",
        help="alert overdue exceptions, approvals and vendor documents about to expire",
        description="Emit exception.overdue for invoices held longer than the policy's "
        "exception_deadline_days and approval.expiring for pending change requests that "
        "expire within approval_expiry_warning_hours, once per subscription, and send them. "
        "Then run `billguard vendors sweep`: vendor.document_expiring for vendor documents "
        "and certifications expiring within vendor_document_warning_days.",
    )
    sweep.set_defaults(handler=alerts_sweep_command)


def alerts_subscribe_command(args: argparse.Namespace) -> int:
    from billguard.controls.alerts import alert_subscribe

    user = acting_user(args)
    channel, address = ("email", args.email) if args.email else ("webhook", args.webhook)
    subscription = alert_subscribe(
        by=user, event=args.event, channel=channel, address=address, secret=args.secret
    )
    print(f"subscription {subscription.pk}: {args.event} by {channel} to {address}")
    return EXIT_OK


def alerts_list(args: argparse.Namespace) -> int:
    from billguard.controls.models import AlertSubscription

    subscriptions = AlertSubscription.objects.select_related("created_by").order_by("pk")
    if not subscriptions:
        print("no subscriptions")
        return EXIT_OK
    print(f"{'ID':>5}  {'EVENT':<18} {'CHANNEL':<8} {'ACTIVE':<6} {'BY':<12} ADDRESS")
    for subscription in subscriptions:
        by = subscription.created_by.get_username() if subscription.created_by else "-"
        print(
            f"{subscription.pk:>5}  {subscription.event:<18} {subscription.channel:<8} "
            f"{'yes' if subscription.active else 'no':<6} {by:<12} {subscription.address}"
        )
    return EXIT_OK


def alerts_deliveries(args: argparse.Namespace) -> int:
    from billguard.controls.models import AlertDelivery

    deliveries = AlertDelivery.objects.select_related("subscription").order_by("-pk")
    if args.status:
        deliveries = deliveries.filter(status=args.status)
    rows = list(deliveries[: max(args.limit, 1)])
    if not rows:
        print("no deliveries")
        return EXIT_OK
    print(f"{'ID':>6}  {'EVENT':<18} {'STATUS':<8} {'TRIES':>5}  {'NEXT ATTEMPT':<20} TO / ERROR")
    for delivery in rows:
        next_at = (
            f"{delivery.next_attempt_at:%Y-%m-%d %H:%M:%S}" if delivery.next_attempt_at else "-"
        )
        line = (
            f"{delivery.pk:>6}  {delivery.event:<18} {delivery.status:<8} "
            f"{delivery.attempts:>5}  {next_at:<20} {delivery.subscription.address}"
        )
        if delivery.last_error:
            line += f" ({delivery.last_error[:120]})"
        print(line)
    return EXIT_OK


def alerts_deliver_command(args: argparse.Namespace) -> int:
    from billguard.controls.alerts import alerts_deliver

    counts = alerts_deliver()
    print(f"{counts.sent} sent, {counts.retrying} to retry, {counts.failed} failed for good")
    for error in counts.errors:
        print(f"error: {error}", file=sys.stderr)
    return EXIT_OK


def alerts_sweep_command(args: argparse.Namespace) -> int:
    from billguard.controls.alerts import alerts_sweep
    from billguard.procurement.expiry import vendor_documents_sweep

    counts = alerts_sweep()
    print(
        f"{counts.overdue} overdue exception alert(s) and {counts.expiring} expiring approval "
        "alert(s) emitted"
    )
    vendor_counts = vendor_documents_sweep()
    print(
        f"{vendor_counts.deliveries} expiring vendor document alert(s) emitted for "
        f"{vendor_counts.documents} onboarding document(s) and "
        f"{vendor_counts.certifications} certification(s)"
    )
    return EXIT_OK
