"""Vendor certifications (sustainability, diversity, security, ...) and the report of spend and
customer contracts that rest on vendors holding one."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from billguard.controls.roles import authorize
from billguard.controls.services import DEFAULT_ACTOR, audit_record
from billguard.domain.errors import InvalidInput
from billguard.domain.money import Money
from billguard.procurement.models import CostLink, PurchaseOrder, VendorCertification
from billguard.procurement.onboarding import require_vendor
from billguard.registry.models import Document, Party
from billguard.registry.services.documents import document_store

logger = logging.getLogger(__name__)

# A kind is a short lowercase word, so that reports group sustainability and Sustainability.
_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,59}$")


@dataclass(frozen=True)
class CertifiedOrder:
    number: str
    vendor: str
    ordered_on: dt.date
    status: str
    amount: Money


@dataclass(frozen=True)
class CertifiedContract:
    number: str
    customer: str
    vendor: str
    line_codes: tuple[str, ...]


@dataclass
class CertifiedReport:
    """Purchase orders and customer contracts whose vendor has a certification of ``kind``
    that is valid on ``on``; ``totals`` sums the orders per currency."""

    kind: str
    on: dt.date
    vendors: list[tuple[str, str, str]] = field(default_factory=list)  # code, name, certificate
    orders: list[CertifiedOrder] = field(default_factory=list)
    contracts: list[CertifiedContract] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "on": self.on.isoformat(),
            "vendors": [
                {"vendor": code, "name": name, "certification": certificate}
                for code, name, certificate in self.vendors
            ],
            "purchase_orders": [
                {
                    "number": order.number,
                    "vendor": order.vendor,
                    "ordered_on": order.ordered_on.isoformat(),
                    "status": order.status,
                    "amount": str(order.amount.amount),
                    "currency": order.amount.currency,
                }
                for order in self.orders
            ],
            "contracts": [
                {
                    "number": contract.number,
                    "customer": contract.customer,
                    "vendor": contract.vendor,
                    "line_codes": list(contract.line_codes),
                }
                for contract in self.contracts
            ],
            "totals": {currency: str(amount) for currency, amount in self.totals.items()},
        }


def vendor_certification_record(
    *,
    vendor: Party,
    kind: str,
    name: str,
    by: User | None,
    content: bytes | None = None,
    file_name: str = "",
    issued_on: dt.date | None = None,
    expires_on: dt.date | None = None,
) -> VendorCertification:
    """Record a certification of ``vendor``, or renew the one of the same kind and name.

    A renewal replaces the dates and, when a file is given, stores it as the next revision of
    the certificate's document. With ``by``, the user must hold the action vendor_onboard.
    """
    if by is not None:
        authorize(by, "vendor_onboard")
    require_vendor(vendor)
    kind = kind.strip().lower()
    name = name.strip()
    _validate(kind=kind, name=name, issued_on=issued_on, expires_on=expires_on)

    with transaction.atomic():
        certification = (
            VendorCertification.objects.select_for_update()
            .filter(vendor=vendor, kind=kind, name=name)
            .first()
        ) or VendorCertification(vendor=vendor, kind=kind, name=name, created_by=_actor(by))
        before = _values(certification) if certification.pk else None
        if content:
            certification.document = document_store(
                content=content,
                kind=Document.Kind.OTHER,
                family=f"{vendor.code}-certification-{kind}-{_slug(name)}"[:80],
                title=f"{name} certificate of {vendor.name}"[:200],
                file_name=file_name,
                signed_on=issued_on,
                by=by,
            )
        certification.issued_on = issued_on
        certification.expires_on = expires_on
        certification.save()
        audit_record(
            actor=_actor(by),
            action="vendor_certification.record",
            record=certification,
            before=before,
            after=_values(certification),
        )
    logger.info(
        "vendor %s certification %s (%s) recorded by %s, expires %s",
        vendor.code,
        name,
        kind,
        _actor(by),
        expires_on,
    )
    return certification


def certifications_valid_on(kind: str, on: dt.date) -> list[VendorCertification]:
    """Return the certifications of ``kind`` valid on ``on``: issued by then, not expired."""
    return list(
        VendorCertification.objects.filter(kind=kind.strip().lower())
        .filter(Q(issued_on__isnull=True) | Q(issued_on__lte=on))
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=on))
        .filter(vendor__merged_into__isnull=True)
        .select_related("vendor")
        .order_by("vendor__code", "name")
    )


def certified_report(kind: str, on: dt.date) -> CertifiedReport:
    """Return the purchase orders and the customer contracts (through their cost links) of the
    vendors that hold a certification of ``kind`` valid on ``on``."""
    report = CertifiedReport(kind=kind.strip().lower(), on=on)
    certifications = certifications_valid_on(kind, on)
    vendors: dict[int, Party] = {}
    for certification in certifications:
        vendors.setdefault(certification.vendor_id, certification.vendor)
        report.vendors.append(
            (certification.vendor.code, certification.vendor.name, certification.name)
        )
    if not vendors:
        return report

    orders = (
        PurchaseOrder.objects.filter(vendor_id__in=vendors)
        .prefetch_related("lines")
        .order_by("ordered_on", "number")
    )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for order in orders:
        amount = Money(
            sum((line.quantity * line.unit_price for line in order.lines.all()), Decimal(0)),
            order.currency,
        ).rounded()
        totals[order.currency] += amount.amount
        report.orders.append(
            CertifiedOrder(
                order.number, vendors[order.vendor_id].code, order.ordered_on, order.status, amount
            )
        )
    report.totals = dict(sorted(totals.items()))

    lines: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    links = (
        CostLink.objects.filter(vendor_id__in=vendors)
        .select_related("contract__party", "vendor")
        .order_by("contract__number", "line_code")
    )
    for link in links:
        key = (link.contract.number, link.contract.party.code, link.vendor.code)
        lines[key].append(link.line_code)
    report.contracts = [
        CertifiedContract(number, customer, vendor, tuple(codes))
        for (number, customer, vendor), codes in lines.items()
    ]
    return report


def _validate(
    *, kind: str, name: str, issued_on: dt.date | None, expires_on: dt.date | None
) -> None:
    if not _KIND.match(kind):
        raise InvalidInput(
            f"certification kind {kind!r} is not a short lowercase word.",
            place="--kind",
            value=kind,
            fix="Use a word such as sustainability, diversity or security (letters, digits, "
            "- and _, at most 60).",
        )
    if not name or len(name) > 200:
        raise InvalidInput(
            "the certification name is empty or longer than 200 characters.",
            place="--name",
            value=name[:40],
            fix="Give the standard or programme, such as ISO 14001.",
        )
    if issued_on is not None and expires_on is not None and expires_on <= issued_on:
        raise InvalidInput(
            f"the expiry date {expires_on} is not after the issue date {issued_on}.",
            place="--expires-on",
            value=expires_on.isoformat(),
            fix="Check both dates on the certificate.",
        )


def _values(certification: VendorCertification) -> dict[str, object]:
    return {
        "kind": certification.kind,
        "name": certification.name,
        "document_id": certification.document_id,
        "issued_on": certification.issued_on.isoformat() if certification.issued_on else None,
        "expires_on": certification.expires_on.isoformat() if certification.expires_on else None,
    }


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "certificate"


def _actor(by: User | None) -> str:
    return by.get_username() if by is not None else DEFAULT_ACTOR
