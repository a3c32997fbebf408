"""Running an import: read and validate every file, then write all of it or nothing.

Every import is one transaction. Each problem found while reading (a bad date, an unknown
account, a duplicate ID) or while writing (a service that rejects a value) is collected, and
any problem rolls the whole import back and raises ImportInvalid listing them all. A dry run
does the same writes, reports what they were, and rolls them back; its run is recorded.
Importing the same files again finds every record through its external reference, so it
creates nothing, and a change already requested is not requested twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billguard.controls.roles import authorize
from billguard.controls.services import audit_record
from billguard.domain.errors import InvalidInput, NotFound
from billguard.imports import hubspot, mapped, salesforce
from billguard.imports.models import ColumnMapping, ImportRun, MappingTarget, Source
from billguard.imports.records import ImportBatch, ImportInvalid, Problems
from billguard.imports.writer import CREATE, REQUEST, UNCHANGED, UPDATE, ImportWriter, Outcome
from billguard.registry.models import SellerEntity
from billguard.registry.models.contracts import ContractType

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def _ignore_progress(done: int, total: int) -> None:
    return None


def import_salesforce(
    *,
    content: bytes,
    name: str,
    by: User,
    dry_run: bool = False,
    currency: str | None = None,
    seller_entity: str | None = None,
    contract_type: str = ContractType.SUBSCRIPTION,
    prices_valid_from: dt.date | None = None,
    progress: Progress = _ignore_progress,
) -> ImportRun:
    """Import a Salesforce Data Export ZIP; see billguard.imports.salesforce for the mapping."""
    problems = Problems()
    batch = salesforce.read_export(
        content,
        name=name,
        problems=problems,
        currency=currency,
        prices_valid_from=prices_valid_from,
    )
    return _run(
        Source.SALESFORCE,
        [(name, content)],
        batch,
        problems,
        by=by,
        dry_run=dry_run,
        seller_entity=seller_entity,
        contract_type=contract_type,
        progress=progress,
    )


def import_hubspot(
    *,
    files: dict[str, tuple[str, bytes]],
    by: User,
    dry_run: bool = False,
    currency: str | None = None,
    seller_entity: str | None = None,
    contract_type: str = ContractType.SUBSCRIPTION,
    progress: Progress = _ignore_progress,
) -> ImportRun:
    """Import HubSpot exports: ``files`` maps companies, deals, line_items to (name, content)."""
    if "deals" in files and "line_items" not in files:
        raise InvalidInput(
            "deals are imported with their line items, and no line items export was given.",
            place="--line-items",
            fix="Export the line items too and give them with --line-items FILE.",
        )
    problems = Problems()
    batch = hubspot.read_exports(files, problems=problems, currency=currency)
    return _run(
        Source.HUBSPOT,
        list(files.values()),
        batch,
        problems,
        by=by,
        dry_run=dry_run,
        seller_entity=seller_entity,
        contract_type=contract_type,
        progress=progress,
    )


def import_file(
    *,
    files: list[tuple[str, bytes, str]],
    by: User,
    dry_run: bool = False,
    seller_entity: str | None = None,
    contract_type: str = ContractType.SUBSCRIPTION,
    progress: Progress = _ignore_progress,
) -> ImportRun:
    """Import CSV or XLSX files, each (name, content, mapping name), in one run."""
    problems = Problems()
    resolved = [(name, content, mapping_get(mapping)) for name, content, mapping in files]
    batch = mapped.read_mapped(resolved, problems=problems)
    return _run(
        Source.FILE,
        [(name, content) for name, content, _ in files],
        batch,
        problems,
        by=by,
        dry_run=dry_run,
        seller_entity=seller_entity,
        contract_type=contract_type,
        progress=progress,
    )


class _DryRunRollback(Exception):  # noqa: N818 (a control-flow signal, not an error)
    """Raised at the end of a dry run to roll its writes back."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("dry run")
        self.outcome = outcome


def _run(
    source: str,
    files: list[tuple[str, bytes]],
    batch: ImportBatch,
    problems: Problems,
    *,
    by: User,
    dry_run: bool,
    seller_entity: str | None,
    contract_type: str,
    progress: Progress,
) -> ImportRun:
    if contract_type not in ContractType.values:
        raise InvalidInput(
            f"contract type {contract_type!r} is unknown.",
            place="--contract-type",
            value=contract_type,
            fix=f"Use one of: {', '.join(ContractType.values)}.",
        )
    # An import creates customers, bill-to entities and contracts, so the acting user needs
    # the three actions, even when this run happens to create nothing.
    for action in ("party_create", "bill_to_create", "contract_create"):
        authorize(by, action)

    seller = _seller_entity(seller_entity)
    if seller is None and batch.contracts:
        known = ", ".join(SellerEntity.objects.order_by("code").values_list("code", flat=True))
        raise InvalidInput(
            "the registry has more than one seller entity (or none), so the import must be "
            "told which one the new contracts belong to.",
            place="--seller-entity",
            fix=f"Give --seller-entity CODE, one of: {known or 'none yet; create one first'}.",
        )
    file_list = [
        {"name": name, "sha256": hashlib.sha256(content).hexdigest()} for name, content in files
    ]
    started = timezone.now()
    if problems:
        raise ImportInvalid(problems.items)

    try:
        with transaction.atomic():
            run = ImportRun.objects.create(
                source=source, files=file_list, dry_run=dry_run, run_by=by, started_at=started
            )
            writer = ImportWriter(
                batch=batch,
                run=run,
                by=by,
                seller_entity=seller,
                contract_type=contract_type,
                problems=problems,
                progress=progress,
            )
            outcome = writer.write()
            if problems:
                raise ImportInvalid(problems.items)
            if dry_run:
                raise _DryRunRollback(outcome)
            _finish(run, outcome)
            audit_record(
                actor=by.get_username(),
                action="import.run",
                record=run,
                before=None,
                after={
                    "source": source,
                    "files": file_list,
                    "created": run.created,
                    "updated": run.updated,
                    "unchanged": run.unchanged,
                    "change_requests": run.change_requests,
                },
            )
    except _DryRunRollback as done:
        with transaction.atomic():
            run = ImportRun.objects.create(
                source=source, files=file_list, dry_run=True, run_by=by, started_at=started
            )
            _finish(run, done.outcome)
    logger.info(
        "import run %s from %s by %s%s: %s created, %s updated, %s unchanged, %s change requests",
        run.pk,
        source,
        by.get_username(),
        " (dry run)" if dry_run else "",
        run.created,
        run.updated,
        run.unchanged,
        run.change_requests,
    )
    return run


def _finish(run: ImportRun, outcome: Outcome) -> None:
    run.created = outcome.count(CREATE)
    run.updated = outcome.count(UPDATE)
    run.unchanged = outcome.count(UNCHANGED)
    run.change_requests = outcome.count(REQUEST)
    # The change requests of a dry run were rolled back, so their ids name nothing.
    run.details = [
        {k: v for k, v in item.items() if not (run.dry_run and k == "change_request")}
        for item in outcome.details
    ]
    run.finished_at = timezone.now()
    run.save()


def _seller_entity(code: str | None) -> SellerEntity | None:
    """Return the seller entity of new contracts: the one named, or the only one there is."""
    if code:
        seller = SellerEntity.objects.filter(code=code).first()
        if seller is None:
            known = ", ".join(SellerEntity.objects.order_by("code").values_list("code", flat=True))
            raise NotFound(
                f"seller entity {code!r} does not exist.",
                place="--seller-entity",
                value=code,
                fix=f"Use one of: {known or 'none yet; create one first'}.",
            )
        return seller
    sellers = list(SellerEntity.objects.all()[:2])
    return sellers[0] if len(sellers) == 1 else None


# Saved column mappings


@transaction.atomic
def mapping_save(
    *, name: str, target: str, source: str, columns: dict[str, str], by: User
) -> ColumnMapping:
    """Save (or replace) the column mapping ``name``; every required field must be mapped."""
    authorize(by, "contract_create")
    if target not in MappingTarget.values:
        raise InvalidInput(
            f"target {target!r} is unknown.",
            place="--target",
            value=target,
            fix=f"Use one of: {', '.join(MappingTarget.values)}.",
        )

    fields = mapped.TARGET_FIELDS[target]
    if not columns:
        raise InvalidInput(
            "the mapping maps no column.",
            place="--column",
            fix='Give each column as --column "Source header=field".',
        )
    for column, field_name in columns.items():
        if field_name not in fields:
            raise InvalidInput(
                f"{field_name!r} is not a field of {target}.",
                place=f"--column {column}",
                value=field_name,
                fix=f"Use one of: {', '.join(fields)}.",
            )

    mapped_fields = list(columns.values())
    twice = sorted({f for f in mapped_fields if mapped_fields.count(f) > 1})
    if twice:
        raise InvalidInput(
            f"field {twice[0]} is mapped from more than one column.",
            place="--column",
            value=twice[0],
            fix="Map each field from one column.",
        )
    missing = [f for f, required in fields.items() if required and f not in mapped_fields]
    if missing:
        raise InvalidInput(
            f"the required field(s) {', '.join(missing)} of {target} are not mapped.",
            place="--column",
            fix='Map a column to each, such as --column "Customer ID=external_id".',
        )

    source_name = (source or name).strip().lower()
    if source_name in {Source.SALESFORCE, Source.HUBSPOT}:
        raise InvalidInput(
            f"source {source_name!r} is taken by the built-in import of that system.",
            place="--source",
            value=source_name,
            fix="Name the source system differently, such as erp or crm-legacy.",
        )
    mapping, created = ColumnMapping.objects.update_or_create(
        name=name,
        defaults={"target": target, "source": source_name[:40], "columns": columns, "saved_by": by},
    )
    audit_record(
        actor=by.get_username(),
        action="import.mapping_save",
        record=mapping,
        before=None,
        after={"name": name, "target": target, "source": mapping.source, "columns": columns},
        reason="created" if created else "replaced",
    )
    return mapping


def mapping_get(name: str) -> ColumnMapping:
    mapping = ColumnMapping.objects.filter(name=name).first()
    if mapping is None:
        known = ", ".join(ColumnMapping.objects.order_by("name").values_list("name", flat=True))
        raise NotFound(
            f"column mapping {name!r} does not exist.",
            place="--mapping",
            value=name,
            fix=f"Save it first with `billguard import mappings save`; saved: {known or 'none'}.",
        )
    return mapping


def run_summary(run: ImportRun) -> dict[str, Any]:
    return {
        "run": run.pk,
        "source": run.source,
        "dry_run": run.dry_run,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "change_requests": run.change_requests,
    }
