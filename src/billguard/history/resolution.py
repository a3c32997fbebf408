"""Find the customer, contract, contract line and service period of each imported document.

The registry (customers, bill-to entities, contracts, versions, lines, billing schedules) is
read once per import into dictionaries, so resolving a million lines makes no query. What
cannot be resolved stays empty and is reported; the rules are in docs/history.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db.models import Q

from billguard.domain.periods import BillingPeriod, Cadence, period_containing
from billguard.history.parsing import ITEM, SERVICE, ParsedDocument
from billguard.registry.models import (
    BillingSchedule,
    BillToEntity,
    Contract,
    ContractLine,
    ContractVersion,
    Party,
)

# Legal forms dropped from the end of a name before names are compared.
_LEGAL_FORMS = frozenset(
    "inc incorporated ltd limited llc llp plc gmbh ag sa sas sarl bv nv co corp corporation "
    "company oy ab as spa srl pty kg".split()
)
_WORD = re.compile(r"[^\W_]+")
# A word of a memo or reference that may be a contract or invoice number. The DuckDB path
# (fast_resolution) runs the same pattern, which RE2 reads as Python's re does.
REFERENCE_WORD = r"[0-9A-Za-z][0-9A-Za-z/_.-]*[0-9A-Za-z]|[0-9A-Za-z]"
_TOKEN = re.compile(REFERENCE_WORD)
# Line kinds billed after the period (usage and timesheets); the others are billed ahead.
_IN_ARREARS = frozenset({"usage", "time_and_materials"})


def normalize_name(name: str) -> str:
    """Return ``name`` in the form compared: lower case words, "&" as "and", no legal form."""
    words = _WORD.findall(name.casefold().replace("&", " and "))
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def reference_tokens(text: str) -> list[str]:
    """Split a memo or reference into the words that may be contract or invoice numbers."""
    return _TOKEN.findall(text)


@dataclass
class Version:
    id: int
    contract_id: int
    effective_from: dt.date
    # Last day covered: the day before the next version, or the version's end date (None:
    # open-ended, or renewed automatically).
    last_day: dt.date | None
    bill_to_id: int | None
    lines: dict[str, tuple[str, str]]  # normalised product or line code -> (line code, kind)


@dataclass
class ContractTerms:
    id: int
    number: str
    party_id: int
    cadence: Cadence
    billing_day: int
    anchor_month: int
    versions: list[Version] = field(default_factory=list)

    def version_at(self, day: dt.date) -> Version | None:
        found = None
        for version in self.versions:
            if version.effective_from <= day:
                found = version
        if found is None or (found.last_day is not None and day > found.last_day):
            return None
        return found


@dataclass
class Resolution:
    party_id: int | None = None
    bill_to_id: int | None = None
    contract: ContractTerms | None = None
    # Why the customer or contract is empty, for the report; empty when resolved.
    customer_issue: str = ""
    contract_issue: str = ""


class Registry:
    """The customers and contracts of the database, indexed for resolution."""

    def __init__(self) -> None:
        self.party_codes: dict[str, int] = {}
        self.party_names: dict[str, set[int]] = defaultdict(set)
        self.bill_to_keys: dict[str, set[tuple[int, int]]] = defaultdict(set)
        self.party_bill_tos: dict[int, list[int]] = defaultdict(list)
        self.contracts: dict[str, ContractTerms] = {}
        self.contracts_by_id: dict[int, ContractTerms] = {}
        self.party_contracts: dict[int, list[ContractTerms]] = defaultdict(list)
        self._periods: dict[tuple[int, dt.date], BillingPeriod] = {}
        self._signatures: dict[int, str] = {}
        self._customers: dict[str, tuple[int | None, int | None, str]] = {}
        self._load()

    def _load(self) -> None:
        survivors = dict(Party.objects.values_list("id", "merged_into_id"))
        # A party merged into another is archived, but exports still name it: it resolves
        # to the party it was merged into.
        customers = Party.objects.filter(kind=Party.Kind.CUSTOMER).filter(
            Q(archived_at__isnull=True) | Q(merged_into__isnull=False)
        )
        for party_id, code, name in customers.values_list("id", "code", "name"):
            target = _survivor(party_id, survivors)
            self.party_codes[code.casefold()] = target
            self.party_names[normalize_name(name)].add(target)
        bill_tos = BillToEntity.objects.filter(archived_at__isnull=True)
        for bill_to_id, party_id, code, name in bill_tos.values_list(
            "id", "party_id", "code", "name"
        ):
            target = _survivor(party_id, survivors)
            self.bill_to_keys[code.casefold()].add((target, bill_to_id))
            self.bill_to_keys[normalize_name(name)].add((target, bill_to_id))
            self.party_bill_tos[target].append(bill_to_id)

        schedules = {
            contract_id: (cadence, billing_day, starts_on)
            for contract_id, cadence, billing_day, starts_on in BillingSchedule.objects.values_list(
                "contract_id", "cadence", "billing_day", "starts_on"
            )
        }
        by_id: dict[int, ContractTerms] = {}
        for contract_id, number, party_id in Contract.objects.values_list("id", "number", "party"):
            by_id[contract_id] = ContractTerms(
                contract_id, number, _survivor(party_id, survivors), Cadence.MONTHLY, 1, 1
            )
        lines: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
        for version_id, line_code, product_code, kind in ContractLine.objects.values_list(
            "version_id", "line_code", "product_code", "kind"
        ):
            lines[version_id][line_code.lower()] = (line_code, kind)
            if product_code:
                lines[version_id].setdefault(product_code.lower(), (line_code, kind))
        versions = ContractVersion.objects.order_by("contract_id", "effective_from")
        for row in versions.values_list(
            "id", "contract_id", "effective_from", "end_date", "renewal_terms", "bill_to_id",
            "cadence", "billing_day",
        ):  # fmt: skip
            version_id, contract_id, start, end, renewal, bill_to_id, cadence, billing_day = row
            terms = by_id[contract_id]
            if terms.versions:
                previous = terms.versions[-1]
                last = start - dt.timedelta(days=1)
                previous.last_day = (
                    last if previous.last_day is None else min(previous.last_day, last)
                )
            else:
                terms.anchor_month = start.month
            if cadence:
                terms.cadence = Cadence(cadence)
            if billing_day:
                terms.billing_day = billing_day
            last_day = None if renewal == ContractVersion.RenewalTerms.AUTO_RENEW else end
            terms.versions.append(
                Version(
                    version_id, contract_id, start, last_day, bill_to_id, lines.get(version_id, {})
                )
            )
        for contract_id, (cadence, billing_day, starts_on) in schedules.items():
            terms = by_id[contract_id]
            terms.cadence, terms.billing_day = Cadence(cadence), billing_day
            terms.anchor_month = starts_on.month
        self.contracts_by_id = by_id
        for terms in by_id.values():
            self.contracts[terms.number.casefold()] = terms
            self.party_contracts[terms.party_id].append(terms)

    def contract_signature(self, contract: ContractTerms | None) -> str:
        """Return a text that changes when the contract's lines, versions or cadence change,
        so that a document is written again when its contract lines would resolve anew."""
        if contract is None:
            return ""
        cached = self._signatures.get(contract.id)
        if cached is not None:
            return cached
        versions = [
            (v.id, v.effective_from, v.last_day, sorted(v.lines.items())) for v in contract.versions
        ]
        signature = repr((contract.cadence, contract.billing_day, contract.anchor_month, versions))
        self._signatures[contract.id] = signature
        return signature

    def resolve(self, document: ParsedDocument) -> Resolution:
        service_dates = [line[SERVICE] for line in document.lines if line[SERVICE] is not None]
        day = min(service_dates) if service_dates else document.issue_date
        return self.resolve_fields(document.customer, document.reference, day)

    def resolve_fields(self, customer: str, reference: str, day: dt.date) -> Resolution:
        """Resolve a document from its customer, memo or reference, and first service day."""
        result = Resolution()
        self._resolve_customer(customer, result)
        self._resolve_contract(reference, day, result)
        if result.bill_to_id is None and result.contract is not None:
            version = result.contract.version_at(day)
            if version is not None:
                result.bill_to_id = version.bill_to_id
        if result.bill_to_id is None and result.party_id is not None:
            candidates = self.party_bill_tos.get(result.party_id, [])
            if len(candidates) == 1:
                result.bill_to_id = candidates[0]
        return result

    def resolve_customer(self, name: str) -> Resolution:
        result = Resolution()
        self._resolve_customer(name, result)
        return result

    def _resolve_customer(self, name: str, result: Resolution) -> None:
        # An export names each customer on many documents, so the match is kept per name.
        cached = self._customers.get(name)
        if cached is None:
            found = Resolution()
            self._match_customer(name, found)
            cached = (found.party_id, found.bill_to_id, found.customer_issue)
            self._customers[name] = cached
        result.party_id, result.bill_to_id, result.customer_issue = cached

    def _match_customer(self, name: str, result: Resolution) -> None:
        # QuickBooks Online names a sub-customer "Parent:Child"; try the whole name first.
        for candidate in (name, name.rsplit(":", 1)[-1]):
            key = candidate.strip().casefold()
            if key in self.party_codes:
                result.party_id = self.party_codes[key]
                return
            normalized = normalize_name(candidate)
            matches = self.bill_to_keys.get(key) or self.bill_to_keys.get(normalized)
            if matches and len({party for party, _ in matches}) == 1:
                result.party_id, result.bill_to_id = next(iter(matches))
                if len(matches) > 1:
                    result.bill_to_id = None
                return
            parties = self.party_names.get(normalized)
            if parties and len(parties) == 1:
                result.party_id = next(iter(parties))
                return
            if parties:
                result.customer_issue = f"{name!r} matches {len(parties)} customers"
                return
        result.customer_issue = f"no customer is named or coded {name!r}"

    def _resolve_contract(self, reference: str, day: dt.date, result: Resolution) -> None:
        for token in reference_tokens(reference):
            terms = self.contracts.get(token.casefold())
            if terms is None:
                continue
            if result.party_id is None:
                result.party_id = terms.party_id
                result.customer_issue = ""
            elif terms.party_id != result.party_id:
                result.contract_issue = f"contract {terms.number} belongs to another customer"
                return
            result.contract = terms
            return
        if result.party_id is None:
            result.contract_issue = "no customer, so no contract"
            return
        covering = [t for t in self.party_contracts.get(result.party_id, []) if t.version_at(day)]
        if len(covering) == 1:
            result.contract = covering[0]
        elif covering:
            numbers = ", ".join(sorted(t.number for t in covering))
            result.contract_issue = f"{len(covering)} contracts cover {day} ({numbers})"
        else:
            result.contract_issue = f"no contract of the customer covers {day}"

    def line_and_period(
        self, contract: ContractTerms | None, line: tuple[object, ...], issue_date: dt.date
    ) -> tuple[str, dt.date, dt.date]:
        """Return the contract line code ("" when unmatched) and the service period's first
        and last day of one parsed line."""
        service_date = line[SERVICE]
        day = service_date if isinstance(service_date, dt.date) else issue_date
        line_code, kind = "", ""
        if contract is not None:
            version = contract.version_at(day) or (
                contract.versions[-1] if contract.versions else None
            )
            if version is not None:
                code = str(line[ITEM]).lower()
                match = version.lines.get(code) or version.lines.get(code.rsplit(":", 1)[-1])
                if match:
                    line_code, kind = match
        period = self._period(contract, day)
        if service_date is None and kind in _IN_ARREARS:
            period = self._period(contract, period.start - dt.timedelta(days=1))
        return line_code, period.start, period.last_day

    def _period(self, contract: ContractTerms | None, day: dt.date) -> BillingPeriod:
        key = (contract.id if contract else 0, day)
        period = self._periods.get(key)
        if period is None:
            if contract is None:
                period = period_containing(day, Cadence.MONTHLY, 1)
            else:
                period = period_containing(
                    day, contract.cadence, contract.billing_day, anchor_month=contract.anchor_month
                )
            self._periods[key] = period
        return period


def _survivor(party_id: int, merged_into: Mapping[int, int | None]) -> int:
    """Follow merges to the party that was kept."""
    seen = set()
    while merged_into.get(party_id) and party_id not in seen:
        seen.add(party_id)
        party_id = merged_into[party_id]  # type: ignore[assignment]
    return party_id
