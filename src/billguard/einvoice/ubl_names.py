"""XML namespaces and root elements of UBL 2.1 invoices and credit notes (OASIS UBL 2.1)."""

from __future__ import annotations

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
EXT_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"

# Prefixes for ElementPath queries such as root.find("cac:LegalMonetaryTotal/cbc:PayableAmount").
NAMESPACES = {"cac": CAC_NS, "cbc": CBC_NS, "ext": EXT_NS}

# Prefixes used when an element path is shown to a person; the root namespaces get none.
PREFIXES = {CAC_NS: "cac", CBC_NS: "cbc", EXT_NS: "ext", INVOICE_NS: "", CREDIT_NOTE_NS: ""}

INVOICE_ROOT = f"{{{INVOICE_NS}}}Invoice"
CREDIT_NOTE_ROOT = f"{{{CREDIT_NOTE_NS}}}CreditNote"
ACCEPTED_ROOTS = (INVOICE_ROOT, CREDIT_NOTE_ROOT)

# BT-24: the EN 16931 core specification identifier, without extension or CIUS.
EN16931_CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017"
