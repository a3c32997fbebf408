"""The applier of change requests to the unit price of a price list item.

An import that finds a changed price for an item it created earlier requests the change
instead of overwriting the price. Once approved, the new price applies from the request's
effective date (or the day it is applied): the current item ends that day and a new item
starts, so invoices of earlier periods keep the price they were billed at.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from billguard.controls.applier_values import target_int_id
from billguard.controls.appliers import register_applier
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.request_apply import actor_name
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, NotFound
from billguard.registry.models import PriceListItem

# NOTE: not one of the Target choices of the controls app. The target column stores it all the
# same, but listings show this code instead of a label until it is added there.
PRICE_LIST_ITEM_TARGET = Target.PRICE_LIST_ITEM.value


@register_applier(PRICE_LIST_ITEM_TARGET)
class PriceListItemApplier:
    """Changes the unit price of a price list item from a date on."""

    def label(self, target_id: str) -> str:
        item = _item(target_id)
        return f"price list {item.price_list.code} item {item.product_code}"

    def scope(self, target_id: str) -> tuple[str, str]:
        return "", ""

    def categories(self, changes: dict[str, Any]) -> list[str]:
        # The unit price is the only attribute this target takes, and it is a price.
        return ["price"]

    def validate(
        self, target_id: str, changes: dict[str, Any], effective_from: dt.date | None
    ) -> None:
        _item(target_id)
        unknown = sorted(set(changes) - {"unit_price"})
        if unknown:
            raise InvalidInput(
                f"{unknown[0]!r} is not a price list item field a change request can change.",
                place=f"changes.{unknown[0]}",
                fix="Only unit_price can be changed.",
            )
        _price(changes.get("unit_price"))

    def snapshot(self, target_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return {"unit_price": _item(target_id).unit_price}

    def apply(self, request: ChangeRequest, *, by: User | None) -> dict[str, Any]:
        from billguard.imports.models import ExternalReference

        item = PriceListItem.objects.select_for_update().get(pk=int(request.target_id))
        price = _price(request.changes["unit_price"])
        start = request.effective_from or timezone.localdate()
        before = {"unit_price": item.unit_price, "valid_from": item.valid_from}
        if start <= item.valid_from:
            item.unit_price = price
            item.save(update_fields=["unit_price"])
            current = item
        else:
            current = PriceListItem.objects.create(
                price_list=item.price_list,
                product_code=item.product_code,
                unit_price=price,
                valid_from=start,
                valid_to=item.valid_to,
            )
            item.valid_to = start
            item.save(update_fields=["valid_to"])
            # The import that made the item finds its price through this reference.
            ExternalReference.objects.filter(
                record_type=PriceListItem._meta.label_lower, record_id=item.pk
            ).update(record_id=current.pk)
        audit_record(
            actor=actor_name(by),
            action="price_list_item.change",
            record=current,
            before=before,
            after={"unit_price": current.unit_price, "valid_from": current.valid_from},
            reason=request.reason,
        )
        return {"price_list_item": current.pk, "valid_from": current.valid_from}


def _item(target_id: str) -> PriceListItem:
    item = (
        PriceListItem.objects.select_related("price_list")
        .filter(pk=target_int_id(target_id, "price list item"))
        .first()
    )
    if item is None:
        raise NotFound(
            f"price list item {target_id} was not found.",
            place="target_id",
            value=target_id,
            fix="Give the id of an existing price list item.",
        )
    return item


def _price(value: Any) -> Decimal:
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        price = Decimal("NaN")
    if not price.is_finite() or price < 0:
        raise InvalidInput(
            f"{value!r} is not a unit price of zero or more.",
            place="changes.unit_price",
            value=value,
            fix="Give the new unit price as a decimal number, such as 120.00.",
        )
    return price
