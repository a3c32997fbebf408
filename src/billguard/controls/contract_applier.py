"""The applier of change requests to contract terms.

A contract change takes the shape of an amendment's changes: version fields by name,
``discounts`` as the full new list, and ``lines`` mapping line codes to changed fields or
``null`` to remove the line. Applying it creates the next contract version at the request's
effective date, through the request's amendment when it has one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billguard.controls.applier_values import (
    approvers_text,
    line_values,
    require_bill_to_of,
    target_int_id,
)
from billguard.controls.appliers import categories_of, changed_attributes, register_applier
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.request_apply import actor_name
from billguard.controls.services import audit_record
from billguard.domain.errors import BillguardError, InvalidInput, NotFound
from billguard.registry.models import (
    BillingSchedule,
    Contract,
    ContractVersion,
    Document,
    PriceList,
)
from billguard.registry.selectors import schedule_changes_for_version
from billguard.registry.services.amendments import (
    DISCOUNTS,
    amendment_apply_request,
    apply_changes,
    latest_version,
    terms_with_changes,
)
from billguard.registry.services.contracts import contract_version_create
from billguard.registry.terms import LineTerms, terms_from_version

logger = logging.getLogger(__name__)

CONTRACT_LINE_FIELDS = frozenset(f.name for f in dataclasses.fields(LineTerms)) - {"line_code"}


@register_applier(Target.CONTRACT)
class ContractApplier:
    """Changes contract terms by creating the next version, through an amendment or not."""

    def label(self, target_id: str) -> str:
        return f"contract {_contract(target_id).number}"

    def scope(self, target_id: str) -> tuple[str, str]:
        contract = _contract(target_id)
        return contract.party.customer_group, contract.contract_type

    def categories(self, changes: dict[str, Any]) -> list[str]:
        return categories_of(Target.CONTRACT, changed_attributes(changes, CONTRACT_LINE_FIELDS))

    def validate(
        self, target_id: str, changes: dict[str, Any], effective_from: dt.date | None
    ) -> None:
        contract = _contract(target_id)
        current = latest_version(contract.pk)
        terms = terms_with_changes(current, changes)
        start = effective_from or timezone.localdate()
        if start <= current.effective_from:
            raise InvalidInput(
                f"the change would take effect on {start}, not after version "
                f"{current.version_number} of {current.effective_from}.",
                place="effective_from",
                value=start,
                fix=f"Give an effective date after {current.effective_from}.",
            )
        require_bill_to_of(terms.bill_to_id, contract.party_id, "changes.bill_to_id")
        if terms.price_list_id and not PriceList.objects.filter(pk=terms.price_list_id).exists():
            raise InvalidInput(
                f"price list {terms.price_list_id} does not exist.",
                place="changes.price_list_id",
                value=terms.price_list_id,
                fix="Give the id of an existing price list.",
            )
        if terms.sow_document_id and not Document.objects.filter(pk=terms.sow_document_id).exists():
            raise InvalidInput(
                f"document {terms.sow_document_id} does not exist.",
                place="changes.sow_document_id",
                value=terms.sow_document_id,
                fix="Store the SOW first and give its document id.",
            )

    def snapshot(self, target_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        version = latest_version(_contract(target_id).pk)
        values: dict[str, Any] = {
            name: getattr(version, name)
            for name in changes
            if name not in {"lines", DISCOUNTS} and hasattr(version, name)
        }
        if DISCOUNTS in changes:
            values[DISCOUNTS] = [
                {
                    "percent": d.percent,
                    "line_code": d.line_code,
                    "approval_reference": d.approval_reference,
                    "expires_on": d.expires_on,
                }
                for d in sorted(version.discounts.all(), key=lambda d: (d.line_code, d.pk))
            ]
        line_changes = changes.get("lines")
        if isinstance(line_changes, dict):
            lines = {line.line_code: line for line in version.lines.all()}
            values["lines"] = {
                code: line_values(lines.get(code), fields, CONTRACT_LINE_FIELDS)
                for code, fields in line_changes.items()
            }
        return values

    def apply(self, request: ChangeRequest, *, by: User | None) -> dict[str, Any]:
        contract = Contract.objects.select_for_update().get(pk=int(request.target_id))
        # NOTE: two requests applying versions with the same effective date fail on the unique
        # version constraint with the database's message, not a Billguard error.
        if request.amendment_id is not None:
            version = amendment_apply_request(
                request=request,
                approved_by=approvers_text(request),
                approved_on=timezone.localdate(),
                actor=actor_name(by),
            )
        else:
            current = latest_version(contract.pk)
            terms = apply_changes(terms_from_version(current), request.changes)
            terms.effective_from = request.effective_from or timezone.localdate()
            if DISCOUNTS in request.changes:
                # The approved request is the discount's approval, so DISCOUNT_NOT_APPROVED
                # does not hold the drafts that bill it.
                for discount in terms.discounts:
                    if not discount.approval_reference:
                        discount.approval_reference = f"change request {request.pk}"
            version = contract_version_create(contract=contract, terms=terms)
            # Set in the transaction that wrote the version, which is never updated afterwards.
            ContractVersion.objects.filter(pk=version.pk).update(change_request=request)
            audit_record(
                actor=actor_name(by),
                action="contract.change",
                record=contract,
                before={"version": current.version_number, **request.before},
                after={"version": version.version_number, "changes": request.changes},
                reason=request.reason,
            )
        return {
            "contract": contract.number,
            "version": version.version_number,
            "effective_from": version.effective_from,
            "schedule_request": schedule_follow_up(request, version),
        }


def schedule_follow_up(request: ChangeRequest, version: ContractVersion) -> int | str | None:
    """Request the schedule change that brings the billing schedule in line with ``version``.

    The schedule is finance's own record, so the new terms reach it through a change request
    of its own, made in the name of the contract change's requester and approved like any
    other. Returns its id, or None when the schedule already matches. When no request can be
    made (the requester's role may not cover a schedule field), it returns the reason, and
    the drift checks catch the difference.
    """
    changes = schedule_changes_for_version(version, version.effective_from)
    if not changes:
        return None
    # Imported here: the request services import the appliers.
    from billguard.controls.requests import change_request_create

    schedule_id = BillingSchedule.objects.get(contract_id=version.contract_id).pk
    open_request = ChangeRequest.objects.filter(
        target=Target.SCHEDULE,
        target_id=str(schedule_id),
        status__in=(ChangeRequest.Status.PENDING, ChangeRequest.Status.APPROVED),
    ).first()
    if open_request is not None:
        return f"not requested: change request {open_request.pk} on the schedule is open"
    try:
        with transaction.atomic():
            follow = change_request_create(
                by=request.requested_by,
                target=Target.SCHEDULE,
                target_id=schedule_id,
                changes=changes,
                reason=f"follows change request {request.pk}: {request.reason}"[:2000],
                effective_from=version.effective_from,
            )
    except BillguardError as error:
        logger.warning(
            "no schedule change requested after change request %s: %s", request.pk, error
        )
        return f"not requested: {error}"
    return follow.pk


def _contract(target_id: str) -> Contract:
    contract = (
        Contract.objects.select_related("party")
        .filter(pk=target_int_id(target_id, "contract"))
        .first()
    )
    if contract is None:
        raise NotFound(
            f"contract {target_id} was not found.",
            place="target_id",
            value=target_id,
            fix="Give the id of an existing contract.",
        )
    return contract
