"""Receivers that open cost changes when the vendor side changes, and settle them when the
customer terms follow.

Connected when the procurement app is ready. They run inside the transaction of the change
that sent the signal, so a failure here rolls that change back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models.signals import post_save
from django.dispatch import receiver

from billguard.controls.applier_values import approvers_text
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.procurement.cost_resolution import cost_changes_settle_contract
from billguard.procurement.models import CostChange, CostLink, VendorInvoice
from billguard.procurement.passthrough import CostSource, cost_changes_open, link_current_cost
from billguard.procurement.signals import purchase_order_line_repriced, vendor_invoice_recorded


@receiver(purchase_order_line_repriced, dispatch_uid="passthrough_order_line_repriced")
def order_line_repriced(
    sender: object,
    *,
    line: Any,
    new_price: Decimal,
    reference: str,
    by: User | None = None,
    **kwargs: Any,
) -> None:
    """Open a cost change on every link priced from the amended order line."""
    links = CostLink.objects.select_related("contract").filter(po_line=line).order_by("pk")
    cost_changes_open(
        links=links,
        new_cost=new_price,
        source=CostSource(CostChange.Source.PO_AMENDMENT, reference),
        by=by,
    )


@receiver(vendor_invoice_recorded, dispatch_uid="passthrough_vendor_invoice_recorded")
def invoice_recorded(
    sender: object, *, invoice: VendorInvoice, by: User | None = None, **kwargs: Any
) -> None:
    """Open a cost change on the links of each invoice line billed at another unit price."""
    lines = [line for line in invoice.lines.all() if line.po_line_id is not None]
    if not lines:
        return
    links: dict[int, list[CostLink]] = {}
    for link in (
        CostLink.objects.select_related("contract")
        .filter(po_line_id__in={line.po_line_id for line in lines})
        .order_by("pk")
    ):
        assert link.po_line_id is not None
        links.setdefault(link.po_line_id, []).append(link)
    for line in lines:
        assert line.po_line_id is not None
        changed = [
            link
            for link in links.get(line.po_line_id, [])
            if link_current_cost(link) != line.unit_price
        ]
        cost_changes_open(
            links=changed,
            new_cost=line.unit_price,
            source=CostSource(
                CostChange.Source.VENDOR_INVOICE,
                f"vendor invoice {invoice.number} line {line.line_number}",
            ),
            by=by,
        )


@receiver(post_save, sender=ChangeRequest, dispatch_uid="passthrough_contract_change_applied")
def contract_change_applied(
    sender: type[ChangeRequest], *, instance: ChangeRequest, **kwargs: Any
) -> None:
    """Settle the open cost changes of a contract whose change (an amendment included) was
    just applied."""
    update_fields = kwargs.get("update_fields") or ()
    if (
        instance.target != Target.CONTRACT
        or instance.status != ChangeRequest.Status.APPLIED
        or "status" not in update_fields
    ):
        return
    cost_changes_settle_contract(
        int(instance.target_id),
        actor=approvers_text(instance),
        reason=f"contract change request {instance.pk} applied",
    )
