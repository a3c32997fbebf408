"""What the controls hold right now: requests waiting for a decision, emergency changes
waiting for review, contracts waiting for activation, and the state of the audit trail.

``billguard demo`` prints it after the billing run. Every line is stable for the same
database: ids, contract numbers, user names and field categories, no timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

from billguard.controls.models import ChangeRequest
from billguard.controls.verify import VerifyResult, audit_verify
from billguard.registry.activation import ACTIVATION_TARGET, draft_contracts
from billguard.registry.models import Contract, ContractVersion


@dataclass(frozen=True)
class WaitingContract:
    contract: Contract
    version: ContractVersion
    approval_request: ChangeRequest | None


@dataclass(frozen=True)
class ControlsOverview:
    pending: list[ChangeRequest]
    emergency_unreviewed: list[ChangeRequest]
    waiting_activation: list[WaitingContract]
    audit: VerifyResult


def controls_overview() -> ControlsOverview:
    """Load the pending and unreviewed requests, the draft contracts, and verify the audit trail."""
    requests = ChangeRequest.objects.select_related("requested_by").order_by("pk")
    pending = list(requests.filter(status=ChangeRequest.Status.PENDING))
    unreviewed = list(requests.filter(emergency=True, reviewed_at__isnull=True))
    activation_requests = {
        request.target_id: request for request in pending if request.target == ACTIVATION_TARGET
    }
    waiting = [
        WaitingContract(contract, version, activation_requests.get(str(contract.pk)))
        for contract, version in draft_contracts()
    ]
    return ControlsOverview(
        pending=pending,
        emergency_unreviewed=unreviewed,
        waiting_activation=waiting,
        audit=audit_verify(),
    )


def format_controls(overview: ControlsOverview) -> str:
    """Return the overview as the indented text section that the demo prints."""
    lines = ["Controls"]
    lines.append(f"  {'change requests pending':<36}{len(overview.pending):>5}")
    for request in overview.pending:
        lines.append(
            f"    {request.pk}  {_label(request)}: {_fields(request)}; requested by "
            f"{request.requested_by.get_username()}; needs {_needs(request)}"
        )
    lines.append(
        f"  {'emergency changes awaiting review':<36}{len(overview.emergency_unreviewed):>5}"
    )
    for request in overview.emergency_unreviewed:
        effective = f" from {request.effective_from}" if request.effective_from else ""
        lines.append(
            f"    {request.pk}  {_label(request)}: {_fields(request)}{effective}; applied "
            f"by {request.requested_by.get_username()}"
        )
    lines.append(
        f"  {'contracts waiting for activation':<36}{len(overview.waiting_activation):>5}"
        "  (not billed)"
    )
    for waiting in overview.waiting_activation:
        bespoke = ", ".join(waiting.version.bespoke_fields)
        state = f"bespoke in {bespoke}" if bespoke else "draft"
        if waiting.approval_request is not None:
            state += f"; approval asked in change request {waiting.approval_request.pk}"
        lines.append(f"    {waiting.contract.number}  {state}")
    lines.append(f"  audit trail  {_audit_state(overview.audit)}")
    return "\n".join(lines)


def _label(request: ChangeRequest) -> str:
    label = request.target_label or request.target_id
    if request.target == ACTIVATION_TARGET:
        return f"activation of contract {label}"
    return label


def _fields(request: ChangeRequest) -> str:
    if request.categories:
        return ", ".join(request.categories)
    if request.target == ACTIVATION_TARGET:
        return "bespoke " + ", ".join(request.changes.get("bespoke_fields", []))
    return ", ".join(sorted(request.changes)) or "-"


def _needs(request: ChangeRequest) -> str:
    """Name each approval rule that applies, as ``1 finance_approver (rule name)``."""
    rules = [
        f"{rule.get('approvals', 1)} {rule.get('role', '-')} ({rule.get('rule') or 'unnamed'})"
        for rule in request.required
    ]
    return "; ".join(rules) or "no approval"


def _audit_state(result: VerifyResult) -> str:
    if result.intact:
        return f"verified intact, {result.entries_checked} entries"
    return (
        f"verification failed: {result.problem} at entry {result.first_bad_sequence}: "
        f"{result.message}; see `billguard audit verify`"
    )
