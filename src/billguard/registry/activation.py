"""The activation gate: the rules a draft contract must pass to become active.

A contract becomes active only when its current version (the latest one written) has every
mandatory field of its contract type, a signed SOW document, and an approval for each field
that deviates from the contract template. The billing run drafts active contracts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from billguard.controls.services import audit_record
from billguard.domain.errors import NotFound, RuleViolation
from billguard.registry.mandatory import FIELD_LABELS, missing_fields
from billguard.registry.models import Contract, ContractVersion

if TYPE_CHECKING:
    from billguard.controls.models import ChangeRequest

ACTIVATION_TARGET = "contract_activation"


@dataclass(frozen=True)
class ActivationProblem:
    """One reason a contract cannot become active, with what to do about it."""

    code: str  # MANDATORY_FIELD_EMPTY, SOW_MISSING, SOW_UNSIGNED, BESPOKE_NOT_APPROVED
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.message} {self.fix}"


class ActivationBlocked(RuleViolation):
    """The activation gate found problems; ``problems`` lists every one of them."""

    code = "ACTIVATION_BLOCKED"

    def __init__(self, contract: Contract, problems: list[ActivationProblem]) -> None:
        details = " ".join(f"({n}) {p}" for n, p in enumerate(problems, start=1))
        super().__init__(
            f"contract {contract.number} cannot become active: {details}",
            place=f"contract {contract.number}",
            value=[problem.code for problem in problems],
            fix="Fix each problem listed, then activate the contract again.",
        )
        self.problems = problems


def current_version(contract: Contract) -> ContractVersion:
    """Return the latest version of ``contract``: the terms the activation approves."""
    version = (
        ContractVersion.objects.filter(contract=contract)
        .select_related("sow_document")
        .order_by("-version_number")
        .first()
    )
    if version is None:
        raise NotFound(
            f"contract {contract.number} has no version.",
            place=f"contract {contract.number}",
            fix="Create the contract with its terms through contract_create.",
        )
    return version


def draft_contracts() -> list[tuple[Contract, ContractVersion]]:
    """Return the contracts waiting for activation, in number order, with their current version."""
    contracts = list(Contract.objects.filter(status=Contract.Status.DRAFT).order_by("number"))
    latest: dict[int, ContractVersion] = {}
    for version in ContractVersion.objects.filter(contract__in=contracts).order_by(
        "version_number"
    ):
        latest[version.contract_id] = version
    return [(c, latest[c.pk]) for c in contracts if c.pk in latest]


def activation_problems(
    contract: Contract,
    version: ContractVersion,
    *,
    approval: ChangeRequest | None = None,
    check_bespoke: bool = True,
) -> list[ActivationProblem]:
    """Return every problem that keeps ``contract`` from becoming active, in a fixed order.

    ``approval`` is the approved change request that covers the bespoke fields; without it,
    the approved or applied requests of the contract are looked up.
    """
    problems = [
        _mandatory_problem(contract, version, name)
        for name in missing_fields(version, contract.contract_type)
        if name != "sow_document"
    ]
    problems += _sow_problems(contract, version)
    if check_bespoke and version.bespoke_fields:
        covered = set(approval.changes.get("bespoke_fields", [])) if approval is not None else None
        if covered is None:
            covered = approved_bespoke_fields(contract)
        unapproved = [name for name in version.bespoke_fields if name not in covered]
        if unapproved:
            problems.append(_bespoke_problem(contract, unapproved))
    return problems


def approved_bespoke_fields(contract: Contract) -> set[str]:
    """Return the bespoke fields that approved or applied change requests of ``contract`` cover."""
    from billguard.controls.models import ChangeRequest

    requests = ChangeRequest.objects.filter(
        target=ACTIVATION_TARGET,
        target_id=str(contract.pk),
        status__in=(ChangeRequest.Status.APPROVED, ChangeRequest.Status.APPLIED),
    ).values_list("changes", flat=True)
    covered: set[str] = set()
    for changes in requests:
        covered.update(changes.get("bespoke_fields", []))
    return covered


def require_activation_approval(approval: ChangeRequest, contract: Contract) -> None:
    """Raise RuleViolation unless ``approval`` is an approved activation request of ``contract``."""
    from billguard.controls.models import ChangeRequest

    approved = (ChangeRequest.Status.APPROVED, ChangeRequest.Status.APPLIED)
    if (
        approval.target != ACTIVATION_TARGET
        or approval.target_id != str(contract.pk)
        or approval.status not in approved
    ):
        raise RuleViolation(
            f"change request {approval.pk} is not an approved activation of contract "
            f"{contract.number}.",
            place="approval",
            value=approval.pk,
            fix="Activate the contract without it, or with the request that approved its "
            "bespoke terms.",
        )


def contract_activation_write(
    contract: Contract,
    version: ContractVersion,
    *,
    actor: str,
    approval: ChangeRequest | None = None,
) -> Contract:
    """Mark ``contract`` active and audit it. The caller ran the gate and owns the transaction."""
    contract.status = Contract.Status.ACTIVE
    contract.activated_at = timezone.now()
    contract.save(update_fields=["status", "activated_at"])
    reason = ""
    if version.bespoke_fields:
        reason = f"bespoke fields {', '.join(version.bespoke_fields)} approved" + (
            f" by change request {approval.pk}" if approval is not None else ""
        )
    after: dict[str, Any] = {
        "status": contract.status,
        "activated_at": contract.activated_at,
        "version": version.version_number,
        "sow_document": version.sow_document_id,
        "bespoke_fields": list(version.bespoke_fields),
        "change_request": approval.pk if approval is not None else None,
    }
    audit_record(
        actor=actor,
        action="contract.activate",
        record=contract,
        before={"status": Contract.Status.DRAFT.value},
        after=after,
        reason=reason,
    )
    return contract


def _mandatory_problem(
    contract: Contract, version: ContractVersion, name: str
) -> ActivationProblem:
    label = FIELD_LABELS.get(name, name.replace("_", " "))
    return ActivationProblem(
        code="MANDATORY_FIELD_EMPTY",
        field=name,
        message=(
            f"the {label} of version {version.version_number} is empty, and a "
            f"{contract.contract_type} contract must have one."
        ),
        fix=f"Amend the contract to set {name}.",
    )


def _sow_problems(contract: Contract, version: ContractVersion) -> list[ActivationProblem]:
    document = version.sow_document
    if document is None:
        return [
            ActivationProblem(
                code="SOW_MISSING",
                field="sow_document",
                message=f"version {version.version_number} has no SOW document.",
                fix="Store the signed SOW with document_store and amend the contract to "
                "reference it.",
            )
        ]
    if document.signed_on is None:
        return [
            ActivationProblem(
                code="SOW_UNSIGNED",
                field="sow_document",
                message=(
                    f"the SOW document {document.family} revision {document.revision} of "
                    f"version {version.version_number} is not signed."
                ),
                fix="Store the signed revision with its signing date and amend the contract "
                "to reference it.",
            )
        ]
    return []


def _bespoke_problem(contract: Contract, unapproved: list[str]) -> ActivationProblem:
    return ActivationProblem(
        code="BESPOKE_NOT_APPROVED",
        field="bespoke_fields",
        message=(
            f"the terms deviate from the {contract.contract_type} template in "
            f"{', '.join(unapproved)}, and no approval covers "
            f"{'it' if len(unapproved) == 1 else 'them'}."
        ),
        fix=f"Request the approval with `billguard contracts request-approval {contract.number}` "
        "or contract_request_bespoke_approval; the contract becomes active once it is approved.",
    )
