"""Registry records: our seller entities, parties, contracts and the sources of drafts."""

from billguard.registry.models.contracts import (
    Amendment,
    Contract,
    ContractLine,
    ContractVersion,
    Discount,
    ScheduledPriceChange,
)
from billguard.registry.models.documents import Document
from billguard.registry.models.entities import BankAccount, GLAccount, SellerEntity
from billguard.registry.models.merges import DuplicateCandidate, PartyMerge
from billguard.registry.models.parties import BillToEntity, Party, VendorBankAccount
from billguard.registry.models.pricing import PriceList, PriceListItem
from billguard.registry.models.sources import (
    BillingSchedule,
    BillingScheduleLine,
    MilestoneAcceptance,
    Timesheet,
    UsageRecord,
)

__all__ = [
    "Amendment",
    "BankAccount",
    "BillToEntity",
    "BillingSchedule",
    "BillingScheduleLine",
    "Contract",
    "ContractLine",
    "ContractVersion",
    "Discount",
    "Document",
    "DuplicateCandidate",
    "GLAccount",
    "MilestoneAcceptance",
    "Party",
    "PartyMerge",
    "PriceList",
    "PriceListItem",
    "ScheduledPriceChange",
    "SellerEntity",
    "Timesheet",
    "UsageRecord",
    "VendorBankAccount",
]
