"""The input of a check: the draft, and the registry records around its contract.

The records are loaded in batches by ``checks.selectors`` before the checks run, so a check
reads only memory and never queries the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from billguard.billing.models import Invoice
from billguard.controls.models import ChangeRequest
from billguard.domain.invoice import InvoiceDocument, InvoiceLine
from billguard.domain.periods import BillingPeriod
from billguard.procurement.models import CostChange
from billguard.registry.mandatory import MandatoryFields
from billguard.registry.models import (
    Amendment,
    BillingSchedule,
    BillToEntity,
    Contract,
    ContractVersion,
    Document,
    GLAccount,
    MilestoneAcceptance,
    Party,
    PriceListItem,
    Timesheet,
    UsageRecord,
)
from billguard.registry.pricing import version_in_force

if TYPE_CHECKING:
    from billguard.delivery.templates import TemplateCatalog

T = TypeVar("T")


@dataclass
class Draft:
    """A draft invoice under check.

    ``line_kinds`` maps a line's ``line_id`` to its contract line kind when the billing run
    drafted it; lines of external drafts are matched to contract lines by ``item_id``.

    Several checks read the same facts of a draft (its line spans, the contract terms of each
    line). ``cached_fact`` works such a fact out once. ``run_checks`` keeps the draft unchanged
    while it runs and clears the facts before and after. A check called on its own keeps them
    until ``clear_facts``.
    """

    document: InvoiceDocument
    contract_number: str = ""
    invoice_id: int | None = None
    origin: str = "billing_run"
    line_kinds: dict[str, str] = field(default_factory=dict)
    _facts: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def cached_fact(self, key: Hashable, work_out: Callable[[], T]) -> T:
        """Return the fact under ``key``, worked out by ``work_out`` on first use."""
        try:
            value: T = self._facts[key]
        except KeyError:
            value = self._facts[key] = work_out()
        return value

    def clear_facts(self) -> None:
        """Drop the facts that ``cached_fact`` kept, for a draft whose document may change."""
        self._facts.clear()

    @property
    def service_start(self) -> dt.date | None:
        doc = self.document
        if doc.period_start is not None:
            return doc.period_start
        starts = [line.service_start for line in doc.lines if line.service_start]
        return min(starts) if starts else doc.issue_date

    @property
    def service_end(self) -> dt.date | None:
        """Last day of service."""
        doc = self.document
        if doc.period_end is not None:
            return doc.period_end
        ends = [line.service_end for line in doc.lines if line.service_end]
        return max(ends) if ends else self.service_start

    def line_start(self, line: InvoiceLine) -> dt.date | None:
        return line.service_start or self.service_start

    def line_kind(self, line: InvoiceLine) -> str:
        return self.line_kinds.get(line.line_id, "")


@dataclass
class CheckContext:
    """Registry records that bear on one draft, all loaded before the checks run."""

    as_of: dt.date
    contract: Contract | None = None
    versions: list[ContractVersion] = field(default_factory=list)
    amendments: list[Amendment] = field(default_factory=list)
    schedule: BillingSchedule | None = None
    bill_to: BillToEntity | None = None
    usage: list[UsageRecord] = field(default_factory=list)
    timesheets: list[Timesheet] = field(default_factory=list)
    acceptances: dict[str, MilestoneAcceptance] = field(default_factory=dict)
    # Issued invoices and credit notes of this contract, and of the same party across
    # contracts, fiscal years and seller entities; lines prefetched.
    contract_invoices: list[Invoice] = field(default_factory=list)
    party_invoices: list[Invoice] = field(default_factory=list)
    price_list_items: list[PriceListItem] = field(default_factory=list)
    documents: dict[str, list[Document]] = field(default_factory=dict)
    gl_accounts: dict[str, GLAccount] = field(default_factory=dict)
    duplicate_parties: list[tuple[Party, str]] = field(default_factory=list)
    period: BillingPeriod | None = None
    # Changes applied on the emergency path and not reviewed yet, to the contract, its
    # schedule or the draft's bill-to entity; requested_by loaded.
    emergency_changes: list[ChangeRequest] = field(default_factory=list)
    # The policy's mandatory fields per contract type; None: CONTRACT_FIELD_MISSING loads them.
    mandatory_fields: MandatoryFields | None = None
    # Open vendor cost changes of the contract's cost links, link loaded, oldest first.
    cost_changes: list[CostChange] = field(default_factory=list)
    # The invoice template rules (None turns TEMPLATE_NOT_FOUND off), and the language of the
    # bill-to's first invoicing contact, empty for a bill-to without contacts.
    template_catalog: TemplateCatalog | None = None
    invoice_language: str = ""

    def version_on(self, day: dt.date | None) -> ContractVersion | None:
        if day is None:
            return None
        return version_in_force(self.versions, day)

    def contract_evidence(self, version: ContractVersion | None) -> dict[str, str]:
        evidence = {}
        if self.contract is not None:
            evidence["contract"] = self.contract.number
        if version is not None:
            evidence["contract_version"] = str(version.version_number)
            if version.amendment_id is not None:
                amendment = next((a for a in self.amendments if a.pk == version.amendment_id), None)
                if amendment is not None:
                    evidence["amendment"] = amendment.number
            if version.sow_document is not None:
                evidence["sow_document"] = (
                    f"{version.sow_document.family} rev {version.sow_document.revision}"
                )
                evidence["sow_sha256"] = version.sow_document.sha256
        return evidence
