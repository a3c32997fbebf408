"""Customer contract lines priced from a vendor cost, and the vendor cost changes they follow.

A cost link ties a line of a customer contract (by its stable line code) to the vendor cost it
is priced from: an order line or a vendor agreement. Pass-through at cost bills the cost as it
is, cost plus adds a margin, and a milestone link mirrors a vendor milestone. When the vendor
side changes (an order amendment, a new agreement revision, an invoice at another price), every
dependent link gets an open cost change, and the check PASS_THROUGH_COST_CHANGED holds the
customer drafts of that line until the customer terms are amended or the difference approved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from billguard.controls.alerts import alert_emit
from billguard.controls.models.alerts import AlertEvent
from billguard.controls.request_apply import actor_name
from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, NotFound, RuleViolation
from billguard.procurement.cost_pricing import implied_price, price_text
from billguard.procurement.models import CostChange, CostLink, PurchaseOrderLine
from billguard.registry.models import Contract, ContractLine, Document, Party
from billguard.registry.models.contracts import LineKind
from billguard.registry.services.amendments import latest_version

logger = logging.getLogger(__name__)

BASES = tuple(CostLink.Basis.values)


@dataclass(frozen=True)
class CostSource:
    """The origin of a new vendor cost: the kind of source and its reference."""

    source: str
    reference: str


@transaction.atomic
def cost_link_create(
    *,
    contract: Contract,
    line_code: str,
    basis: str,
    vendor: Party,
    po_line: PurchaseOrderLine | None = None,
    vendor_document_family: str = "",
    vendor_document_revision: int | None = None,
    margin_percent: Decimal | None = None,
    agreed_cost: Decimal | None = None,
    by: User | None = None,
) -> CostLink:
    """Link ``line_code`` of ``contract`` to the vendor cost it is priced from.

    The cost is the order line's unit price, or ``agreed_cost`` for a vendor agreement. The
    contract line of the latest version must follow the basis. At cost, its unit price equals
    the cost. Cost plus, it equals cost x (1 + margin / 100) with 4 decimals, rounded half up
    as contract prices are. A milestone link needs a milestone line and a milestone order
    line. Otherwise it raises InvalidInput or RuleViolation naming the field.
    """
    if by is not None:
        authorize(by, "cost_link_manage")
    line_code = line_code.strip()
    if basis not in BASES:
        raise InvalidInput(
            f"basis {basis!r} is unknown.",
            place="--basis",
            value=basis,
            fix=f"Use one of: {', '.join(BASES)}.",
        )
    line = _contract_line(contract, line_code)
    _require_vendor(vendor)
    family = vendor_document_family.strip()
    cost, revision = _cost_source(
        vendor=vendor,
        po_line=po_line,
        family=family,
        revision=vendor_document_revision,
        agreed_cost=agreed_cost,
        currency=latest_version(contract.pk).currency,
    )
    _require_basis(basis, line, cost, margin_percent, po_line)
    if CostLink.objects.filter(contract=contract, line_code=line_code).exists():
        raise RuleViolation(
            f"line {line_code} of contract {contract.number} already has a cost link.",
            place="LINE_CODE",
            value=line_code,
            fix="A line is priced from one vendor cost; list the links to see it.",
        )

    link = CostLink.objects.create(
        contract=contract,
        line_code=line_code,
        basis=basis,
        vendor=vendor,
        po_line=po_line,
        vendor_document_family=family,
        vendor_document_revision=revision,
        margin_percent=margin_percent,
        agreed_cost=cost,
        created_by=actor_name(by),
    )
    audit_record(
        actor=actor_name(by),
        action="cost_link.create",
        record=link,
        before=None,
        after=link_summary(link),
    )
    logger.info(
        "cost link %s: contract %s line %s %s from vendor %s at %s",
        link.pk,
        contract.number,
        line_code,
        basis,
        vendor.code,
        cost,
    )
    return link


def cost_links_list(*, contract: Contract | None = None) -> list[CostLink]:
    """Return the cost links, of one contract or of all, by contract number and line code."""
    links = CostLink.objects.select_related("contract", "vendor", "po_line__purchase_order")
    if contract is not None:
        links = links.filter(contract=contract)
    return list(links.order_by("contract__number", "line_code"))


def cost_changes_list(*, open_only: bool = False) -> list[CostChange]:
    """Return the cost changes, the open ones only with ``open_only``, oldest first."""
    changes: QuerySet[CostChange] = CostChange.objects.select_related(
        "link__contract", "link__vendor"
    )
    if open_only:
        changes = changes.filter(status=CostChange.Status.OPEN)
    return list(changes.order_by("detected_at", "pk"))


def link_current_cost(link: CostLink) -> Decimal:
    """Return the latest vendor cost known for ``link``: that of its last change, or the
    agreed cost when it has none."""
    last = link.changes.order_by("-detected_at", "-pk").first()
    return last.new_cost if last is not None else link.agreed_cost


def cost_changes_open(
    *,
    links: Iterable[CostLink],
    new_cost: Decimal,
    source: CostSource,
    by: User | None,
) -> list[CostChange]:
    """Open a cost change on each of ``links`` whose current cost is not ``new_cost``.

    The current cost is the new cost of the link's latest change, whatever its status, or its
    agreed cost, so the same cost never opens a second change. Each change raises a
    cost.changed alert and an audit entry. The caller holds the transaction.
    """
    opened = []
    for link in links:
        old_cost = link_current_cost(link)
        if old_cost == new_cost:
            continue
        change = CostChange.objects.create(
            link=link,
            source=source.source,
            reference=source.reference[:120],
            old_cost=old_cost,
            new_cost=new_cost,
        )
        audit_record(
            actor=actor_name(by),
            action="cost_change.open",
            record=change,
            before=None,
            after=change_summary(change),
        )
        alert_emit(
            event=AlertEvent.COST_CHANGED,
            subject=f"Vendor cost changed for contract {link.contract.number} line "
            f"{link.line_code}: {price_text(old_cost)} to {price_text(new_cost)}",
            payload=change_summary(change),
        )
        logger.info(
            "cost change %s on link %s (contract %s line %s): %s to %s from %s",
            change.pk,
            link.pk,
            link.contract.number,
            link.line_code,
            old_cost,
            new_cost,
            source.reference,
        )
        opened.append(change)
    return opened


@transaction.atomic
def cost_link_agreement_revision(
    *,
    family: str,
    unit_cost: Decimal,
    revision: int | None = None,
    by: User | None = None,
) -> list[CostChange]:
    """Record that revision ``revision`` (the latest stored one by default) of the vendor
    agreement ``family`` sets ``unit_cost``, and open a cost change on every link priced from
    an earlier revision of that agreement."""
    if by is not None:
        authorize(by, "cost_link_manage")
    family = family.strip()
    if unit_cost < 0:
        raise InvalidInput(
            f"the unit cost {unit_cost} is negative.",
            place="unit_cost",
            value=str(unit_cost),
            fix="Give the agreement's unit cost, zero or more.",
        )
    document = _agreement_document(family, revision)
    links = [
        link
        for link in CostLink.objects.select_related("contract")
        .filter(vendor_document_family=family)
        .order_by("pk")
        if link.vendor_document_revision is None
        or link.vendor_document_revision < document.revision
    ]
    if not links:
        raise NotFound(
            f"no cost link is priced from an earlier revision of vendor agreement {family}.",
            place="family",
            value=family,
            fix="Link the customer lines with `billguard cost-links create --agreement`.",
        )
    return cost_changes_open(
        links=links,
        new_cost=unit_cost,
        source=CostSource(CostChange.Source.VENDOR_AGREEMENT, f"{family} rev {document.revision}"),
        by=by,
    )


def link_summary(link: CostLink) -> dict[str, object]:
    return {
        "contract": link.contract.number,
        "line_code": link.line_code,
        "basis": link.basis,
        "vendor": link.vendor.code,
        "po_line": link.po_line_id,
        "vendor_document_family": link.vendor_document_family,
        "vendor_document_revision": link.vendor_document_revision,
        "margin_percent": link.margin_percent,
        "agreed_cost": link.agreed_cost,
    }


def change_summary(change: CostChange) -> dict[str, object]:
    link = change.link
    return {
        "cost_change": change.pk,
        "contract": link.contract.number,
        "line_code": link.line_code,
        "basis": link.basis,
        "source": change.source,
        "reference": change.reference,
        "old_cost": str(change.old_cost),
        "new_cost": str(change.new_cost),
        "status": change.status,
    }


def _contract_line(contract: Contract, line_code: str) -> ContractLine:
    version = latest_version(contract.pk)
    line = version.lines.filter(line_code=line_code).first()
    if line is None:
        codes = ", ".join(sorted(version.lines.values_list("line_code", flat=True)))
        raise InvalidInput(
            f"contract {contract.number} version {version.version_number} has no line "
            f"{line_code!r}.",
            place="LINE_CODE",
            value=line_code,
            fix=f"Use a line code of the current version: {codes}.",
        )
    if line.unit_price is None:
        raise InvalidInput(
            f"line {line_code} of contract {contract.number} is priced from the price list, "
            "not from a vendor cost.",
            place="LINE_CODE",
            value=line_code,
            fix="Link a line whose unit price the contract itself fixes.",
        )
    return line


def _require_vendor(vendor: Party) -> None:
    if vendor.kind != Party.Kind.VENDOR:
        raise InvalidInput(
            f"party {vendor.code} is a {vendor.kind}, not a vendor.",
            place="--vendor",
            value=vendor.code,
            fix="Give the code of a vendor party.",
        )
    if vendor.merged_into_id is not None:
        raise RuleViolation(
            f"vendor {vendor.code} was merged into another party.",
            place="--vendor",
            value=vendor.code,
            fix="Link to the party it was merged into.",
        )


def _cost_source(
    *,
    vendor: Party,
    po_line: PurchaseOrderLine | None,
    family: str,
    revision: int | None,
    agreed_cost: Decimal | None,
    currency: str,
) -> tuple[Decimal, int | None]:
    """Return the agreed unit cost and the agreement revision of a new link."""
    if po_line is None and not family:
        raise InvalidInput(
            "a cost link needs the vendor cost it follows.",
            place="--order-line",
            fix="Give a purchase order line, or a vendor agreement family with the unit cost.",
        )
    if po_line is not None:
        order = po_line.purchase_order
        if order.vendor_id != vendor.pk:
            raise InvalidInput(
                f"order {order.number} line {po_line.line_number} is an order to another "
                f"vendor, not to {vendor.code}.",
                place="--order-line",
                value=f"{order.number}/{po_line.line_number}",
                fix=f"Give a line of an order to {vendor.code}.",
            )
        if order.currency != currency:
            raise InvalidInput(
                f"order {order.number} is in {order.currency} and the contract in {currency}.",
                place="--order-line",
                value=f"{order.number}/{po_line.line_number}",
                fix="Link a vendor cost in the contract's currency.",
            )
        if agreed_cost is not None and agreed_cost != po_line.unit_price:
            raise InvalidInput(
                f"the agreed cost {agreed_cost} differs from the order line's unit price "
                f"{po_line.unit_price}.",
                place="--cost",
                value=str(agreed_cost),
                fix="Leave the cost out: it is taken from the order line.",
            )
        agreed_cost = po_line.unit_price
    if family:
        revision = _agreement_document(family, revision).revision
    if agreed_cost is None:
        raise InvalidInput(
            f"vendor agreement {family} needs the unit cost it sets.",
            place="--cost",
            fix="Give the unit cost of the agreement's current revision.",
        )
    if agreed_cost < 0:
        raise InvalidInput(
            f"the agreed cost {agreed_cost} is negative.",
            place="--cost",
            value=str(agreed_cost),
            fix="Give the vendor's unit cost, zero or more.",
        )
    return agreed_cost, revision


def _require_basis(
    basis: str,
    line: ContractLine,
    cost: Decimal,
    margin_percent: Decimal | None,
    po_line: PurchaseOrderLine | None,
) -> None:
    place = f"line {line.line_code}"
    if basis == CostLink.Basis.COST_PLUS:
        if margin_percent is None or margin_percent < 0:
            raise InvalidInput(
                "a cost-plus link needs its margin, zero percent or more.",
                place="--margin",
                value=None if margin_percent is None else str(margin_percent),
                fix="Give the margin in percent, such as 15.",
            )
    elif margin_percent is not None:
        raise InvalidInput(
            f"a {basis} link has no margin.",
            place="--margin",
            value=str(margin_percent),
            fix="Leave the margin out, or use the cost_plus basis.",
        )
    if basis == CostLink.Basis.MILESTONE:
        if line.kind != LineKind.MILESTONE:
            raise InvalidInput(
                f"{place} is a {line.kind} line, not a milestone.",
                place="LINE_CODE",
                value=line.line_code,
                fix="Link a milestone line of the contract.",
            )
        if po_line is None or po_line.kind != PurchaseOrderLine.Kind.MILESTONE:
            raise InvalidInput(
                "a milestone link mirrors a milestone line of a vendor order.",
                place="--order-line",
                value=None if po_line is None else po_line.kind,
                fix="Give an order line of kind milestone.",
            )
        return
    expected = implied_price(basis, cost, margin_percent)
    assert line.unit_price is not None
    if line.unit_price != expected:
        rule = "the cost" if basis == CostLink.Basis.AT_COST else f"cost + {margin_percent}%"
        raise RuleViolation(
            f"{place} is priced at {price_text(line.unit_price)}, but {rule} is "
            f"{price_text(expected)}.",
            place="LINE_CODE",
            value=line.line_code,
            fix="Amend the contract price first, or link the line with its own basis.",
        )


def _agreement_document(family: str, revision: int | None) -> Document:
    documents = Document.objects.filter(family=family, kind=Document.Kind.VENDOR_AGREEMENT)
    if revision is not None:
        documents = documents.filter(revision=revision)
    document = documents.order_by("-revision").first()
    if document is None:
        which = f"revision {revision} of " if revision is not None else ""
        raise NotFound(
            f"{which}vendor agreement {family!r} is not stored.",
            place="--agreement",
            value=family,
            fix="Store it with `billguard documents add --kind vendor_agreement`.",
        )
    return document
