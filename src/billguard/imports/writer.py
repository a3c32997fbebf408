"""Writing an import's records into the registry: create, update in place, or request.

A record not seen before (no external reference, no match by code or number) is created
through the registry services. For a record imported before, each changed field is sorted by
the control policy. A billing-critical field (prices, quantities, currency, bill-to, payment
terms, tax treatment, contract dates) becomes a change request through the change-request
service. Any other field (a contact name, a contract title) is updated in place with an
audit entry. A request that is still open with the same changes is not made twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import models, transaction

from billguard.controls.appliers import critical_fields
from billguard.controls.chain import json_normalize
from billguard.controls.models import ChangeRequest
from billguard.controls.models.policy import Target
from billguard.controls.requests import change_request_create
from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.errors import BillguardError, InvalidInput
from billguard.imports.models import ExternalReference, ImportRun
from billguard.imports.price_list_applier import PRICE_LIST_ITEM_TARGET
from billguard.imports.records import (
    ContractIn,
    CustomerIn,
    ImportBatch,
    LineIn,
    PriceListIn,
    Problems,
)
from billguard.registry.models import (
    BillToEntity,
    Contract,
    ContractVersion,
    Party,
    PriceList,
    PriceListItem,
    SellerEntity,
)
from billguard.registry.services.contracts import contract_create
from billguard.registry.services.parties import bill_to_create, party_create
from billguard.registry.terms import LineTerms, VersionTerms

CREATE, UPDATE, UNCHANGED, REQUEST = "create", "update", "unchanged", "change_request"

# The contract version fields an import compares. A difference in any of them changes the
# contract terms, so it becomes a change request.
CONTRACT_FIELDS = ("currency", "bill_to_id", "price_list_id", "end_date", "payment_terms_days")
LINE_FIELDS = ("description", "product_code", "quantity", "unit_price", "kind")


@dataclass
class Outcome:
    """The actions of an import (or, in a dry run, the ones it would take), one per object."""

    details: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self, action: str, object_type: str, external_id: str, label: str, **extra: Any
    ) -> None:
        self.details.append(
            {
                "action": action,
                "object_type": object_type,
                "external_id": external_id,
                "label": label,
                **extra,
            }
        )

    def count(self, action: str) -> int:
        return sum(1 for item in self.details if item["action"] == action)


@dataclass
class ImportWriter:
    """The writer of one batch for ``by``. Callers hold the transaction."""

    batch: ImportBatch
    run: ImportRun
    by: User
    seller_entity: SellerEntity | None
    contract_type: str
    problems: Problems
    progress: Callable[[int, int], None] | None = None
    outcome: Outcome = field(default_factory=Outcome)
    _done: int = 0

    def write(self) -> Outcome:
        total = self.batch.size()
        for customer in self.batch.customers:
            self._guarded(customer.place, partial(self._customer, customer))
            self._step(total)
        for price_list in self.batch.price_lists:
            self._guarded(price_list.place, partial(self._price_list, price_list))
            self._step(total)
        for contract in self.batch.contracts:
            self._guarded(contract.place, partial(self._contract, contract))
            self._step(total)
        for contract_ref, lines in self.batch.contract_lines.items():
            self._guarded(lines[0].place, partial(self._lines_only, contract_ref, lines))
            self._step(total)
        return self.outcome

    def _step(self, total: int) -> None:
        self._done += 1
        if self.progress is not None:
            self.progress(self._done, total)

    def _guarded(self, place: str, write: Callable[[], None]) -> None:
        """Run one record's write in a savepoint, and turn a rejection into a problem of its row.

        The other records are still written, so that one run reports every problem. The
        caller rolls the whole import back when any problem was found.
        """
        try:
            with transaction.atomic():
                write()
        except BillguardError as error:
            detail = f" (field {error.place})" if error.place and error.place != "user" else ""
            self.problems.items.append(
                InvalidInput(
                    f"{error.message.rstrip('.')}{detail}.",
                    place=place,
                    value=error.value,
                    fix=error.fix,
                )
            )

    # External references

    def _reference(self, object_type: str, external_id: str) -> ExternalReference | None:
        return ExternalReference.objects.filter(
            source=self.batch.source, object_type=object_type, external_id=external_id
        ).first()

    def _remember(self, object_type: str, external_id: str, record: models.Model) -> None:
        # Updates a reference whose record no longer exists, so the import can match anew.
        ExternalReference.objects.update_or_create(
            source=self.batch.source,
            object_type=object_type,
            external_id=external_id,
            defaults={
                "record_type": record._meta.label_lower,
                "record_id": record.pk,
                "run": self.run,
            },
        )

    def _referenced(self, model: type[Any], object_type: str, external_id: str) -> Any:
        reference = self._reference(object_type, external_id)
        if reference is None:
            return None
        return model.objects.filter(pk=reference.record_id).first()

    def _code(self, external_id: str) -> str:
        return f"{self.batch.code_prefix}-{external_id.replace(':', '-')}"[:40]

    # Customers

    def _customer(self, customer: CustomerIn) -> None:
        party = self._referenced(Party, "customer", customer.external_id)
        # A party merged into another since the last import is replaced by the survivor. The
        # merged party's source record does not update the survivor's name and postcode.
        merged = party is not None and party.merged_into_id is not None
        while party is not None and party.merged_into_id is not None:
            party = party.merged_into
        if party is None:
            code = customer.code or self._code(customer.external_id)
            party = Party.objects.filter(code=code, kind=Party.Kind.CUSTOMER).first()
            if party is None:
                self._customer_create(customer, code)
                return
            self._remember("customer", customer.external_id, party)
        bill_to = self._referenced(BillToEntity, "bill_to", customer.external_id)
        if bill_to is None:
            bill_to = party.bill_tos.filter(archived_at__isnull=True).order_by("pk").first()
            if bill_to is None:
                bill_to = self._bill_to_create(party, customer)
                self.outcome.record(CREATE, "bill_to", customer.external_id, bill_to.code)
            self._remember("bill_to", customer.external_id, bill_to)
        changed = False if merged else self._party_update(party, customer)
        changed |= self._bill_to_update(bill_to, customer)
        if not changed:
            self.outcome.record(UNCHANGED, "customer", customer.external_id, party.code)

    def _customer_create(self, customer: CustomerIn, code: str) -> None:
        party = party_create(
            code=code,
            kind=Party.Kind.CUSTOMER,
            name=customer.name,
            country=customer.country,
            tax_id=customer.tax_id,
            postcode=customer.postcode,
            by=self.by,
        )
        bill_to = self._bill_to_create(party, customer)
        self._remember("customer", customer.external_id, party)
        self._remember("bill_to", customer.external_id, bill_to)
        self.outcome.record(CREATE, "customer", customer.external_id, party.code)

    def _bill_to_create(self, party: Party, customer: CustomerIn) -> BillToEntity:
        code = party.code
        if BillToEntity.objects.filter(code=code).exists():
            code = f"{party.code}-{party.bill_tos.count() + 1}"[:40]
        return bill_to_create(
            party=party,
            code=code,
            name=customer.name,
            country=customer.country,
            tax_id=customer.tax_id,
            street=customer.street,
            city=customer.city,
            postcode=customer.postcode,
            subdivision=customer.subdivision,
            contact_name=customer.contact_name,
            contact_email=customer.contact_email,
            by=self.by,
        )

    def _party_update(self, party: Party, customer: CustomerIn) -> bool:
        """Update the party's own name and postcode in place; neither is billing-critical."""
        wanted = {"name": customer.name.strip(), "postcode": customer.postcode}
        changes = {k: v for k, v in wanted.items() if v and getattr(party, k) != v}
        if not changes:
            return False
        authorize(self.by, "party_create")
        before = {k: getattr(party, k) for k in changes}
        for name, value in changes.items():
            setattr(party, name, value)
        party.save(update_fields=list(changes))
        audit_record(
            actor=self.by.get_username(),
            action="party.update",
            record=party,
            before=before,
            after=changes,
            reason=self._reason(),
        )
        self.outcome.record(
            UPDATE, "customer", customer.external_id, party.code, fields=sorted(changes)
        )
        return True

    def _bill_to_update(self, bill_to: BillToEntity, customer: CustomerIn) -> bool:
        wanted = {
            "name": customer.name.strip(),
            "street": customer.street,
            "city": customer.city,
            "postcode": customer.postcode,
            "subdivision": customer.subdivision,
            "country": customer.country,
            "tax_id": customer.tax_id.strip(),
            "contact_name": customer.contact_name,
            "contact_email": customer.contact_email,
        }
        # An empty value in the source leaves the registry's value as it is, because an export
        # often lacks a column (a tax ID, a billing contact) that the registry has.
        changes = {k: v for k, v in wanted.items() if v and getattr(bill_to, k) != v}
        if not changes:
            return False
        critical = critical_fields(Target.BILL_TO)
        direct = {k: v for k, v in changes.items() if k not in critical}
        requested = {k: v for k, v in changes.items() if k in critical}
        if direct:
            authorize(self.by, "bill_to_create")
            before = {k: getattr(bill_to, k) for k in direct}
            for name, value in direct.items():
                setattr(bill_to, name, value)
            bill_to.save(update_fields=list(direct))
            audit_record(
                actor=self.by.get_username(),
                action="bill_to.update",
                record=bill_to,
                before=before,
                after=direct,
                reason=self._reason(),
            )
            self.outcome.record(
                UPDATE, "bill_to", customer.external_id, bill_to.code, fields=sorted(direct)
            )
        if requested:
            self._request(
                Target.BILL_TO, bill_to.pk, requested, "bill_to", customer.external_id, bill_to.code
            )
        return True

    # Price lists

    def _price_list(self, price_list: PriceListIn) -> None:
        # NOTE: no action covers price lists on their own. Creating contract terms is the
        # nearest, and every role that creates contracts has it.
        authorize(self.by, "contract_create")
        record = self._referenced(PriceList, "price_list", price_list.external_id)
        if record is None:
            code = self._code(price_list.external_id)
            record = PriceList.objects.filter(code=code).first()
            if record is None:
                record = PriceList.objects.create(
                    code=code, name=price_list.name, currency=price_list.currency
                )
                audit_record(
                    actor=self.by.get_username(),
                    action="price_list.create",
                    record=record,
                    before=None,
                    after={"code": code, "name": record.name, "currency": record.currency},
                    reason=self._reason(),
                )
                self.outcome.record(CREATE, "price_list", price_list.external_id, code)
            self._remember("price_list", price_list.external_id, record)
        elif record.currency != price_list.currency:
            raise InvalidInput(
                f"price list {record.code} is in {record.currency}, and the export has it in "
                f"{price_list.currency}.",
                value=price_list.currency,
                fix="A price list keeps its currency: give the prices in the other currency "
                "a price book of their own.",
            )
        elif record.name != price_list.name:
            before = record.name
            record.name = price_list.name
            record.save(update_fields=["name"])
            audit_record(
                actor=self.by.get_username(),
                action="price_list.update",
                record=record,
                before={"name": before},
                after={"name": record.name},
                reason=self._reason(),
            )
            self.outcome.record(
                UPDATE, "price_list", price_list.external_id, record.code, fields=["name"]
            )
        else:
            self.outcome.record(UNCHANGED, "price_list", price_list.external_id, record.code)
        for item in price_list.items:
            self._guarded(item.place, partial(self._price_item, record, item))

    def _price_item(self, price_list: PriceList, item: Any) -> None:
        record = self._referenced(PriceListItem, "price_list_item", item.external_id)
        label = f"{price_list.code} {item.product_code}"
        if record is None:
            record = PriceListItem.objects.create(
                price_list=price_list,
                product_code=item.product_code,
                unit_price=item.unit_price,
                valid_from=item.valid_from,
            )
            self._remember("price_list_item", item.external_id, record)
            self.outcome.record(CREATE, "price_list_item", item.external_id, label)
            return
        if Decimal(record.unit_price) == item.unit_price:
            self.outcome.record(UNCHANGED, "price_list_item", item.external_id, label)
            return
        self._request(
            PRICE_LIST_ITEM_TARGET,
            record.pk,
            {"unit_price": str(item.unit_price)},
            "price_list_item",
            item.external_id,
            label,
        )

    # Contracts

    def _contract(self, contract: ContractIn) -> None:
        party = self._referenced(Party, "customer", contract.customer_ref)
        while party is not None and party.merged_into_id is not None:
            party = party.merged_into
        bill_to = self._referenced(BillToEntity, "bill_to", contract.customer_ref)
        if party is None:
            raise InvalidInput(
                f"customer {contract.customer_ref} was not imported.",
                value=contract.customer_ref,
                fix="Import the customer first, or include it in this import.",
            )
        price_list_id = None
        if contract.price_list_ref:
            price_list = self._referenced(PriceList, "price_list", contract.price_list_ref)
            if price_list is None:
                raise InvalidInput(
                    f"price list {contract.price_list_ref} was not imported.",
                    value=contract.price_list_ref,
                    fix="Include the price book and its entries in the export.",
                )
            price_list_id = price_list.pk
        record = self._referenced(Contract, "contract", contract.external_id)
        if record is None:
            record = Contract.objects.filter(number=contract.number).first()
            if record is None:
                self._contract_create(contract, party, bill_to, price_list_id)
                return
            if record.party_id != party.pk:
                raise InvalidInput(
                    f"contract {contract.number} exists in the registry for party "
                    f"{record.party.code}, not for {party.code}.",
                    value=contract.number,
                    fix="Check the contract's account, or give it another contract number.",
                )
            self._remember("contract", contract.external_id, record)
        changed = self._contract_title(record, contract)
        changed |= self._contract_terms(record, contract, bill_to, price_list_id)
        if not changed:
            self.outcome.record(UNCHANGED, "contract", contract.external_id, record.number)

    def _contract_create(
        self,
        contract: ContractIn,
        party: Party,
        bill_to: BillToEntity | None,
        price_list_id: int | None,
    ) -> None:
        if self.seller_entity is None:
            raise InvalidInput(
                "the registry has more than one seller entity, and the seller entity of the "
                "new contracts is missing.",
                fix="Give --seller-entity CODE.",
            )
        terms = VersionTerms(
            effective_from=contract.start,
            currency=contract.currency,
            cadence=contract.cadence,
            bill_to_id=bill_to.pk if bill_to is not None else None,
            price_list_id=price_list_id,
            payment_terms_days=contract.payment_terms_days,
            end_date=contract.end_date,
            lines=[_line_terms(line) for line in contract.lines],
        )
        record = contract_create(
            number=contract.number,
            party=party,
            seller_entity=self.seller_entity,
            contract_type=contract.contract_type or self.contract_type,
            terms=terms,
            title=contract.title,
            external_ref=contract.external_id[:80],
            imported=contract.active,
            by=self.by,
        )
        self._remember("contract", contract.external_id, record)
        self.outcome.record(CREATE, "contract", contract.external_id, record.number)

    def _contract_title(self, record: Contract, contract: ContractIn) -> bool:
        if not contract.title or record.title == contract.title:
            return False
        authorize(self.by, "contract_create")
        before = record.title
        record.title = contract.title
        record.save(update_fields=["title"])
        audit_record(
            actor=self.by.get_username(),
            action="contract.update",
            record=record,
            before={"title": before},
            after={"title": record.title},
            reason=self._reason(),
        )
        self.outcome.record(
            UPDATE, "contract", contract.external_id, record.number, fields=["title"]
        )
        return True

    def _contract_terms(
        self,
        record: Contract,
        contract: ContractIn,
        bill_to: BillToEntity | None,
        price_list_id: int | None,
    ) -> bool:
        first = record.versions.order_by("version_number").first()
        current = record.versions.order_by("-version_number").first()
        assert first is not None
        assert current is not None

        if first.effective_from != contract.start:
            raise InvalidInput(
                f"contract {record.number} started on {first.effective_from} in the registry, "
                f"and the export gives {contract.start}.",
                value=contract.start.isoformat(),
                fix="A start date cannot be changed by an import: correct it in the export, "
                "or end this contract and import the new one under another number.",
            )

        wanted: dict[str, Any] = {
            "currency": contract.currency,
            "bill_to_id": bill_to.pk if bill_to is not None else None,
            "price_list_id": price_list_id,
            "end_date": contract.end_date,
            "payment_terms_days": contract.payment_terms_days,
        }
        # As for customers, a value the source leaves empty is kept.
        changes = {k: v for k, v in wanted.items() if v is not None and getattr(current, k) != v}
        lines = (
            _line_changes(current, contract.lines, remove_missing=True)
            if contract.lines_given
            else {}
        )
        if lines:
            changes["lines"] = lines
        if not changes:
            return False
        self._request(
            Target.CONTRACT, record.pk, changes, "contract", contract.external_id, record.number
        )
        return True

    def _lines_only(self, contract_ref: str, lines: list[LineIn]) -> None:
        """Bring a contract's lines in line with a contract lines file; other lines stay."""
        record = self._referenced(Contract, "contract", contract_ref)
        if record is None:
            record = Contract.objects.filter(number=contract_ref).first()
        if record is None:
            raise InvalidInput(
                f"contract {contract_ref} was neither imported nor found by number.",
                value=contract_ref,
                fix="Import the contract first, or give its Billguard contract number.",
            )
        current = record.versions.order_by("-version_number").first()
        assert current is not None
        changes = _line_changes(current, lines, remove_missing=False)
        if not changes:
            self.outcome.record(UNCHANGED, "contract_lines", contract_ref, record.number)
            return
        self._request(
            Target.CONTRACT,
            record.pk,
            {"lines": changes},
            "contract_lines",
            contract_ref,
            record.number,
        )

    # Change requests

    def _request(
        self,
        target: str,
        target_id: int,
        changes: dict[str, Any],
        object_type: str,
        external_id: str,
        label: str,
    ) -> None:
        """Request ``changes``, unless a request with the same changes is still open."""
        normalized = json_normalize(changes)
        open_requests = ChangeRequest.objects.filter(
            target=target,
            target_id=str(target_id),
            status__in=(ChangeRequest.Status.PENDING, ChangeRequest.Status.APPROVED),
        )
        for request in open_requests:
            if request.changes == normalized:
                self.outcome.record(
                    UNCHANGED, object_type, external_id, label, pending_request=request.pk
                )
                return
        request = change_request_create(
            by=self.by,
            target=target,
            target_id=target_id,
            changes=changes,
            reason=self._reason(),
        )
        self.outcome.record(
            REQUEST,
            object_type,
            external_id,
            label,
            change_request=request.pk,
            status=request.status,
            fields=sorted(changes),
        )

    def _reason(self) -> str:
        return f"import run {self.run.pk} from {self.batch.source}"


def _line_terms(line: LineIn) -> LineTerms:
    return LineTerms(
        line_code=line.line_code,
        kind=line.kind,
        description=line.description,
        unit_price=line.unit_price,
        quantity=line.quantity,
        product_code=line.product_code,
    )


def _line_changes(
    version: ContractVersion, lines: list[LineIn], *, remove_missing: bool
) -> dict[str, Any]:
    """Return the lines part of a contract change: changed fields, new lines, removed lines."""
    current = {line.line_code: line for line in version.lines.all()}
    changes: dict[str, Any] = {}
    for line in lines:
        wanted = {
            "description": line.description,
            "product_code": line.product_code,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "kind": line.kind,
        }
        existing = current.pop(line.line_code, None)
        if existing is None:
            changes[line.line_code] = {k: _json(v) for k, v in wanted.items()}
            continue
        changed = {k: _json(v) for k, v in wanted.items() if not _same(getattr(existing, k), v)}
        if changed:
            changes[line.line_code] = changed
    if remove_missing:
        for code in current:
            changes[code] = None
    return changes


def _same(stored: Any, wanted: Any) -> bool:
    if isinstance(wanted, Decimal) and stored is not None:
        return Decimal(stored) == wanted
    return bool(stored == wanted)


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
