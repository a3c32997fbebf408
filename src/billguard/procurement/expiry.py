"""The sweep that warns before a vendor's insurance certificate, tax form or certification
expires: one vendor.document_expiring alert per document and expiry date."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from billguard.controls.alerts import Alert, alerts_emit
from billguard.controls.models.alerts import AlertEvent
from billguard.controls.policy import policy_setting
from billguard.procurement.models import OnboardingItem, VendorCertification, VendorProfile
from billguard.procurement.onboarding import DOCUMENT_REQUIREMENTS, vendor_onboarding_refresh

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VendorSweepCounts:
    """Documents alerted for the first time at their current expiry date, and deliveries."""

    documents: int
    certifications: int
    deliveries: int


def vendor_documents_sweep(*, today: dt.date | None = None) -> VendorSweepCounts:
    """Emit vendor.document_expiring for documents that expire within the warning window.

    The window is the policy setting vendor_document_warning_days from ``today`` (default: the
    local date). A document that has already expired and was never alerted is alerted too.
    Each document is alerted once per expiry date: its expiry_alerted_on is set to the expiry
    date alerted, so a renewal with a new expiry date is alerted again when its time comes.
    The document is marked even when nobody subscribes to the event. The sweep also sets or
    clears each profile's onboarded_at, because an expiry can make a checklist incomplete.
    """
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=int(policy_setting("vendor_document_warning_days")))

    with transaction.atomic():
        items = list(
            OnboardingItem.objects.select_for_update(of=("self",))
            .filter(
                requirement__in=list(DOCUMENT_REQUIREMENTS),
                status=OnboardingItem.Status.DONE,
                expires_on__isnull=False,
                expires_on__lte=horizon,
                vendor__merged_into__isnull=True,
                vendor__archived_at__isnull=True,
            )
            .select_related("vendor", "document")
            .order_by("vendor__code", "requirement")
        )
        items = [item for item in items if item.expiry_alerted_on != item.expires_on]
        certifications = list(
            VendorCertification.objects.select_for_update(of=("self",))
            .filter(
                expires_on__isnull=False,
                expires_on__lte=horizon,
                vendor__merged_into__isnull=True,
                vendor__archived_at__isnull=True,
            )
            .select_related("vendor")
            .order_by("vendor__code", "kind", "name")
        )
        certifications = [c for c in certifications if c.expiry_alerted_on != c.expires_on]

        alerts = [_item_alert(item, today) for item in items]
        alerts += [_certification_alert(certification, today) for certification in certifications]
        deliveries = alerts_emit(event=AlertEvent.VENDOR_DOCUMENT_EXPIRING, alerts=alerts)
        for item in items:
            item.expiry_alerted_on = item.expires_on
        OnboardingItem.objects.bulk_update(items, ["expiry_alerted_on"])
        for certification in certifications:
            certification.expiry_alerted_on = certification.expires_on
        VendorCertification.objects.bulk_update(certifications, ["expiry_alerted_on"])

        for profile in VendorProfile.objects.select_related("vendor").order_by("vendor__code"):
            vendor_onboarding_refresh(profile.vendor, today=today)

    counts = VendorSweepCounts(len(items), len(certifications), deliveries)
    logger.info(
        "vendor document sweep on %s: %d onboarding documents and %d certifications alerted, "
        "%d deliveries",
        today,
        counts.documents,
        counts.certifications,
        counts.deliveries,
    )
    return counts


def _item_alert(item: OnboardingItem, today: dt.date) -> Alert:
    assert item.expires_on is not None
    label = str(OnboardingItem.Requirement(item.requirement).label)
    return Alert(
        subject=_subject(label, item.vendor.code, item.vendor.name, item.expires_on, today),
        payload={
            "vendor": item.vendor.code,
            "vendor_name": item.vendor.name,
            "document": item.requirement,
            "label": label,
            "document_id": item.document_id,
            "sha256": item.document.sha256 if item.document is not None else "",
            "expires_on": item.expires_on,
            "days_left": (item.expires_on - today).days,
        },
        key=f"onboarding_item:{item.pk}:{item.expires_on.isoformat()}",
    )


def _certification_alert(certification: VendorCertification, today: dt.date) -> Alert:
    assert certification.expires_on is not None
    label = f"{certification.kind} certification {certification.name}"
    vendor = certification.vendor
    return Alert(
        subject=_subject(label, vendor.code, vendor.name, certification.expires_on, today),
        payload={
            "vendor": vendor.code,
            "vendor_name": vendor.name,
            "document": "certification",
            "label": label,
            "kind": certification.kind,
            "name": certification.name,
            "document_id": certification.document_id,
            "expires_on": certification.expires_on,
            "days_left": (certification.expires_on - today).days,
        },
        key=f"certification:{certification.pk}:{certification.expires_on.isoformat()}",
    )


def _subject(label: str, code: str, name: str, expires_on: dt.date, today: dt.date) -> str:
    days = (expires_on - today).days
    when = f"expired on {expires_on}" if days < 0 else f"expires on {expires_on} ({days} days)"
    return f"The {label} of vendor {code} {name} {when}"
