"""Running an uploaded file through its import service, as a dry run or for real.

Every kind of import gives the same plain dictionary, so the preview can be kept on disk and
read page by page. It lists the problems (file, row, column, value, message, fix), the counts
of what was (or would be) created, updated and left unchanged, and the records that change.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from billguard.domain.errors import BillguardError
from billguard.history.services import HistoryImportInvalid, history_import
from billguard.imports.records import ImportInvalid
from billguard.imports.services import import_file, import_hubspot, import_salesforce
from billguard.web.pages.imports.uploads import Upload

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The upload form's label of each command line option that a service may name.
FORM_FIELDS = {
    "--seller-entity": "Seller entity of new contracts",
    "--line-items": "HubSpot line items file",
    "--contract-type": "contract type",
}
PLACE = re.compile(r"(?P<file>.*?)(?:, row (?P<row>\d+))?(?:, column (?P<column>.+))?")


def problem_row(problem: BillguardError) -> dict[str, Any]:
    """Convert a service's problem into a row of the preview table, its place split in parts."""
    place = problem.place or ""
    match = PLACE.fullmatch(place)
    parts = match.groupdict() if match else {"file": place, "row": None, "column": None}
    return {
        "file": parts["file"] or "",
        "row": int(parts["row"]) if parts["row"] else None,
        "column": parts["column"] or "",
        "place": place,
        "value": "" if problem.value is None else str(problem.value),
        "message": problem.message,
        "fix": problem.fix or "",
    }


def run_upload(upload: Upload, *, by: User, dry_run: bool) -> dict[str, Any]:
    """Import ``upload`` (all or nothing) and describe the outcome.

    A BillguardError (bad values, a missing seller entity, a refused action) becomes the
    outcome's problems instead of propagating, so the page shows it beside the file.
    """
    try:
        if upload.spec.family == "history":
            return _history(upload, by=by, dry_run=dry_run)
        return _crm(upload, by=by, dry_run=dry_run)
    except (ImportInvalid, HistoryImportInvalid) as invalid:
        return _failed([problem_row(problem) for problem in invalid.problems])
    except BillguardError as error:
        row = problem_row(error)
        option = row["file"]
        if option.startswith("--") or option in {"user", "files", "system"}:
            # The place is a command line option: name the upload form's field instead.
            row["file"] = upload.name
            row["column"] = FORM_FIELDS.get(option, "")
            row["place"] = ""
            if option == "--seller-entity":
                row["fix"] = row["fix"].replace(
                    "Give --seller-entity CODE, one of",
                    "Upload the file again and choose the seller entity of new contracts, one of",
                )
        return _failed([row])


def _failed(problems: list[dict[str, Any]]) -> dict[str, Any]:
    return {"ok": False, "problems": problems, "counts": {}, "details": []}


def _crm(upload: Upload, *, by: User, dry_run: bool) -> dict[str, Any]:
    spec = upload.spec
    options = upload.options
    seller = options.get("seller_entity") or None
    currency = options.get("currency") or None
    if spec.family == "salesforce":
        run = import_salesforce(
            content=upload.content(),
            name=upload.name,
            by=by,
            dry_run=dry_run,
            currency=currency,
            seller_entity=seller,
        )
    elif spec.family == "hubspot":
        files = {spec.part: (upload.name, upload.content())}
        for part, name in upload.extra.items():
            files[part] = (name, upload.extra_path(part).read_bytes())
        run = import_hubspot(
            files=files, by=by, dry_run=dry_run, currency=currency, seller_entity=seller
        )
    else:
        run = import_file(
            files=[(upload.name, upload.content(), upload.mapping)],
            by=by,
            dry_run=dry_run,
            seller_entity=seller,
        )
    return {
        "ok": True,
        "problems": [],
        "counts": {
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "change_requests": run.change_requests,
        },
        "details": [
            item
            for item in run.details
            if item.get("action") != "unchanged" or item.get("pending_request")
        ],
        "run_id": None if dry_run else run.pk,
    }


def _history(upload: Upload, *, by: User, dry_run: bool) -> dict[str, Any]:
    spec = upload.spec
    outcome = history_import(
        system=spec.system,
        invoices=upload.path if spec.part == "invoices" else None,
        credit_notes=upload.path if spec.part == "credit_notes" else None,
        payments=upload.path if spec.part == "payments" else None,
        dry_run=dry_run,
        default_currency=upload.options.get("currency") or None,
        by=by,
    )
    kinds = (
        ("invoices", outcome.invoices),
        ("credit notes", outcome.credit_notes),
        ("payments", outcome.payments),
    )
    details = [
        {
            "action": what,
            "object_type": "document",
            "label": item.number,
            "customer": item.customer,
            "note": item.issue,
        }
        for what, items in (
            ("unresolved customer", outcome.unresolved_customers),
            ("unresolved contract", outcome.unresolved_contracts),
        )
        for item in items
    ]
    return {
        "ok": True,
        "problems": [],
        "counts": {
            "created": sum(counts.created for _, counts in kinds),
            "updated": sum(counts.updated for _, counts in kinds),
            "unchanged": sum(counts.unchanged for _, counts in kinds),
            "read": sum(counts.read for _, counts in kinds),
            "lines_without_contract_line": outcome.lines_without_contract_line,
        },
        "details": details,
        "history_id": None if dry_run else outcome.import_id,
    }
