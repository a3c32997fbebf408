from billguard.controls.models.alerts import AlertDelivery, AlertSubscription
from billguard.controls.models.audit import AuditChainHead, AuditEntry
from billguard.controls.models.policy import (
    ApprovalRule,
    CheckMode,
    ContractTemplate,
    CriticalField,
    MandatoryField,
    PolicySetting,
)
from billguard.controls.models.requests import Approval, ChangeRequest, Delegation
from billguard.controls.models.roles import ControlPermission

__all__ = [
    "AlertDelivery",
    "AlertSubscription",
    "Approval",
    "ApprovalRule",
    "AuditChainHead",
    "AuditEntry",
    "ChangeRequest",
    "CheckMode",
    "ContractTemplate",
    "ControlPermission",
    "CriticalField",
    "Delegation",
    "MandatoryField",
    "PolicySetting",
]
