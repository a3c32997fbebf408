"""The applier of change requests that approve a bespoke contract and so activate it.

A request of target ``contract_activation`` lists the fields in which a draft contract
deviates from its contract template. Once approved, applying it activates the contract: the
approval is the evidence that the activation gate requires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from billguard.domain.errors import NotFound
from billguard.registry.activation import ACTIVATION_TARGET, current_version
from billguard.registry.models import Contract

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from billguard.controls.models import ChangeRequest


def register() -> None:
    """Register the applier with the change request registry."""
    from billguard.controls.appliers import (
        register_applier,
    )

    register_applier(ACTIVATION_TARGET)(ContractActivationApplier)


class ContractActivationApplier:
    def snapshot(self, target_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        contract = _contract(target_id)
        return {
            "bespoke_fields": list(current_version(contract).bespoke_fields),
            "status": contract.status,
        }

    def apply(self, request: ChangeRequest, *, by: AbstractBaseUser | None) -> dict[str, Any]:
        from billguard.registry.services.contracts import contract_activate

        contract = contract_activate(contract=_contract(request.target_id), by=by, approval=request)
        return {"status": contract.status}

    def label(self, target_id: str) -> str:
        return _contract(target_id).number

    def scope(self, target_id: str) -> tuple[str, str]:
        contract = _contract(target_id)
        return contract.party.customer_group, contract.contract_type

    def categories(self, changes: dict[str, Any]) -> list[str]:
        # Approving a deviation changes no billing-critical field: the version is signed.
        return []


def _contract(target_id: str) -> Contract:
    contract = None
    if target_id.isdigit():
        contract = Contract.objects.select_related("party").filter(pk=int(target_id)).first()
    if contract is None:
        raise NotFound(
            f"contract id {target_id!r} is not in the registry.",
            place="target_id",
            value=target_id,
            fix="Give the id of a draft contract.",
        )
    return contract
