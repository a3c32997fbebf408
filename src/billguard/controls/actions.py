"""The actions that roles grant, and the billing-critical field categories.

Each action is one Django permission of the controls app (codename ``action_<name>``), so a
role is a Django auth group holding a set of them. A billing-critical field category is also a
permission (``field_<name>``): a role may request a change to a field only when it holds the
field's permission.
"""

from __future__ import annotations

# Write actions: one per service that writes, named after the service.
ACTIONS: dict[str, str] = {
    "party_create": "create a customer or vendor",
    "bill_to_create": "create a bill-to entity",
    "contract_create": "create a contract",
    "contract_activate": "activate a contract",
    "amendment_draft": "draft an amendment",
    "amendment_sign": "record an amendment as signed",
    "schedule_create": "create a billing schedule",
    "document_store": "store a document revision",
    "source_record": "record usage, timesheets and milestone acceptances",
    "change_request": "request a change to a billing-critical field",
    "change_approve": "approve or reject a change request",
    "change_emergency": "apply a change at once on the emergency path",
    "change_review": "review a change applied on the emergency path",
    "policy_change": "request a change of the control policy",
    "delegation_create": "delegate approval rights for a period",
    "billing_run": "start a billing run",
    "invoice_credit": "issue a credit note",
    "exception_resolve": "resolve a held invoice at its source",
    "exception_override": "request an override of a held invoice",
    "alert_subscribe": "subscribe to alerts",
    "seller_entity_manage": "manage seller entities and the chart of accounts",
    "audit_read": "read the audit trail and verify it",
    "vendor_onboard": "record a vendor's profile, onboarding items and certifications",
    "purchase_order_manage": "create, approve and amend purchase orders",
    "receipt_record": "record goods and service receipts",
    "vendor_invoice_record": "record or import vendor invoices",
    "vendor_invoice_decide": "approve or reject a held vendor invoice",
    "match_tolerance_manage": "set the match tolerances of vendors and categories",
    "cost_link_manage": "link a customer contract line to the vendor cost behind it",
    "scorecard_compute": "compute supplier scorecards",
    "party_dedupe": "find likely duplicate parties and dismiss false matches",
    "payment_record": "record, import and allocate customer payments",
    "dispute_open": "open a dispute against an issued invoice",
    "dispute_decide": "reject or resolve an invoice dispute",
    "history_import": "import invoice, credit note and payment history from accounting systems",
}

# Billing-critical field categories (a change to one alters what is invoiced).
CRITICAL_FIELDS: dict[str, str] = {
    "bill_to": "bill-to entity",
    "tax_id": "tax ID",
    "tax_treatment": "tax treatment",
    "price": "price",
    "discount": "discount",
    "cadence": "billing cadence",
    "currency": "currency",
    "gl_account": "GL account",
    "payment_terms": "payment terms",
    "po_ceiling": "PO ceiling",
    "vendor_bank_details": "vendor bank details",
    "party_identity": "party identity (a merge of two parties)",
}


def action_codename(action: str) -> str:
    return f"action_{action}"


def field_codename(category: str) -> str:
    return f"field_{category}"


def permission_list() -> list[tuple[str, str]]:
    """(codename, name) of every permission the controls app defines."""
    items = [(action_codename(k), f"May {v}") for k, v in ACTIONS.items()]
    items += [
        (field_codename(k), f"May request changes to the {v}") for k, v in CRITICAL_FIELDS.items()
    ]
    return items
