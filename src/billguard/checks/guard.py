"""Guard mode: check invoices drafted by other systems against the contract terms.

A draft names its contract by contract reference (BT-12). Without one, its contract is the
one whose bill-to entity has the buyer's tax ID and whose version in force carries the
draft's order reference (customer PO, BT-13). Nothing is stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from billguard.checks.context import Draft
from billguard.checks.engine import registered_checks, run_checks
from billguard.checks.finding import Finding
from billguard.checks.modes import check_modes_load
from billguard.checks.selectors import ContextRequest, load_contexts
from billguard.domain.invoice import DocumentType, InvoiceDocument
from billguard.registry.models import BillToEntity, Contract, ContractVersion
from billguard.registry.pricing import version_in_force
from billguard.registry.tax_ids import normalize_tax_id

CREDIT_NOTE_EXEMPT_FAMILIES = frozenset({"pricing", "coverage"})


@dataclass
class GuardResult:
    document: InvoiceDocument
    contract_number: str
    findings: list[Finding]

    @property
    def blocked(self) -> bool:
        return any(f.blocks for f in self.findings)


def check_documents(documents: list[InvoiceDocument], *, as_of: dt.date) -> list[GuardResult]:
    """Find each document's contract and bill-to entity, then run every check on it.

    A blocking finding of a check that the policy observes does not block the document.
    """
    resolved = [resolve(document) for document in documents]
    drafts = []
    requests = []
    for document, (contract, bill_to) in zip(documents, resolved, strict=True):
        draft = Draft(
            document=document,
            contract_number=contract.number if contract else document.contract_reference,
            origin="guard",
            line_kinds=line_kinds(document, contract),
        )
        drafts.append(draft)
        requests.append(
            ContextRequest(
                contract_id=contract.pk if contract else None,
                bill_to_id=bill_to.pk if bill_to else None,
                service_start=draft.service_start,
                service_end=draft.service_end,
            )
        )
    contexts = load_contexts(requests, as_of=as_of)
    modes = check_modes_load()
    return [
        GuardResult(
            document=draft.document,
            contract_number=draft.contract_number,
            findings=run_checks(draft, context, only=checks_for(draft.document), modes=modes),
        )
        for draft, context in zip(drafts, contexts, strict=True)
    ]


def checks_for(document: InvoiceDocument) -> set[str] | None:
    """Return the check codes that apply to ``document``, or None for all of them.

    A credit note reverses billing that was already checked, so the pricing and coverage
    families, which judge what is billed, do not apply to it. Its contract, parties, tax and
    totals are still checked.
    """
    if document.document_type is not DocumentType.CREDIT_NOTE:
        return None
    return {c.code for c in registered_checks() if c.family not in CREDIT_NOTE_EXEMPT_FAMILIES}


def resolve(document: InvoiceDocument) -> tuple[Contract | None, BillToEntity | None]:
    """Find the registry's contract and bill-to entity of an external draft, if they exist."""
    bill_to = _bill_to_for(document)
    contract = None
    if document.contract_reference:
        contract = Contract.objects.filter(number=document.contract_reference.strip()).first()
    if contract is None and not document.contract_reference and document.order_reference:
        contract = _contract_by_order(document, bill_to)
    return contract, bill_to


def line_kinds(document: InvoiceDocument, contract: Contract | None) -> dict[str, str]:
    """Map each line to the kind of the contract line its item ID names."""
    if contract is None:
        return {}
    day = document.period_start or document.issue_date
    versions = list(contract.versions.prefetch_related("lines"))
    version = version_in_force(versions, day) if day else None
    if version is None:
        return {}
    kinds = {line.line_code: line.kind for line in version.lines.all()}
    return {line.line_id: kinds[line.item_id] for line in document.lines if line.item_id in kinds}


def _bill_to_for(document: InvoiceDocument) -> BillToEntity | None:
    tax_id = normalize_tax_id(document.buyer.tax_id)
    if tax_id:
        for candidate in BillToEntity.objects.exclude(tax_id="").select_related("party"):
            if normalize_tax_id(candidate.tax_id) == tax_id:
                return candidate
    if document.buyer.identifier:
        found = BillToEntity.objects.filter(code=document.buyer.identifier).first()
        if found is not None:
            return found
    if document.buyer.name:
        matches = list(BillToEntity.objects.filter(name__iexact=document.buyer.name.strip())[:2])
        if len(matches) == 1:
            return matches[0]
    return None


def _contract_by_order(document: InvoiceDocument, bill_to: BillToEntity | None) -> Contract | None:
    versions = ContractVersion.objects.filter(customer_po=document.order_reference.strip())
    if bill_to is not None:
        versions = versions.filter(contract__party_id=bill_to.party_id)
    contract_ids = set(versions.values_list("contract_id", flat=True))
    if len(contract_ids) != 1:
        return None
    return Contract.objects.get(pk=contract_ids.pop())
