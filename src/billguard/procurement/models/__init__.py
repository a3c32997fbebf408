"""Procurement records: vendor onboarding, purchase orders, receipts, vendor invoices,
pass-through cost links and supplier scores."""

from billguard.procurement.models.findings import ProcurementFinding
from billguard.procurement.models.invoices import VendorInvoice, VendorInvoiceLine
from billguard.procurement.models.orders import (
    MatchTolerance,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderLineChange,
    Receipt,
)
from billguard.procurement.models.passthrough import CostChange, CostLink
from billguard.procurement.models.scores import VendorScore
from billguard.procurement.models.vendors import (
    OnboardingItem,
    VendorCertification,
    VendorProfile,
)

__all__ = [
    "CostChange",
    "CostLink",
    "MatchTolerance",
    "OnboardingItem",
    "ProcurementFinding",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderLineChange",
    "Receipt",
    "VendorCertification",
    "VendorInvoice",
    "VendorInvoiceLine",
    "VendorProfile",
    "VendorScore",
]
