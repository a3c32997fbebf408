"""The import pages: past runs and the upload form, the column mapping, the preview, the commit."""

from __future__ import annotations

import logging
from typing import Any, cast

from django.contrib import messages
from django.db.models import CharField, QuerySet, Value
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from billguard.controls.roles import has_action
from billguard.controls.services import audit_checkpoint
from billguard.domain.errors import BillguardError
from billguard.history.models import HistoryImport
from billguard.imports.models import ColumnMapping, ImportRun
from billguard.imports.records import Problems
from billguard.imports.services import mapping_save
from billguard.imports.tables import read_csv, read_xlsx
from billguard.web.access import Capabilities, page, require
from billguard.web.forms import add_service_error
from billguard.web.pages.imports.forms import (
    MappingForm,
    UploadForm,
    max_upload_bytes,
    size_text,
)
from billguard.web.pages.imports.running import run_upload
from billguard.web.pages.imports.uploads import (
    CRM_ACTION,
    HISTORY_ACTION,
    Upload,
    upload_create,
    upload_get,
)
from billguard.web.paging import paginate

logger = logging.getLogger(__name__)

HISTORY_SOURCES = {"quickbooks": "QuickBooks Online history", "xero": "Xero history"}


def _require_importer(request: HttpRequest) -> None:
    """Allow users who may import contracts or accounting history; raise 403 for others."""
    user = cast(Any, request.user)
    if not (has_action(user, CRM_ACTION) or has_action(user, HISTORY_ACTION)):
        require(user, CRM_ACTION)


def _upload_for(request: HttpRequest, token: str) -> Upload:
    upload = upload_get(token, by=request.user.get_username())
    require(cast(Any, request.user), upload.spec.action)
    return upload


@page()
def imports(request: HttpRequest) -> HttpResponse:
    _require_importer(request)
    can = Capabilities(request.user)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, can=can)
        if form.is_valid():
            return _accept_upload(request, form)
    else:
        form = UploadForm(can=can)
    dry_runs = request.GET.get("dry_runs") == "1"
    rows = _runs_page(request, dry_runs=dry_runs)
    return render(
        request,
        "web/imports/list.html",
        {
            "form": form,
            "page": rows,
            "dry_runs": dry_runs,
            "file_hint": f"A .zip, .csv or .xlsx file of at most {size_text(max_upload_bytes())}, "
            "as the kind above needs.",
        },
    )


def _accept_upload(request: HttpRequest, form: UploadForm) -> HttpResponse:
    data = form.cleaned_data
    file = data["file"]
    upload = upload_create(
        kind=data["kind"],
        name=file.name,
        chunks=file.chunks(),
        size=file.size,
        by=request.user.get_username(),
        options={
            "seller_entity": data.get("seller_entity") or "",
            "currency": data.get("currency") or "",
            "source": data.get("source") or "",
        },
        extra={
            part: (data[part].name, data[part].chunks())
            for part in ("companies", "line_items")
            if data.get(part) is not None
        },
    )
    if upload.spec.family == "mapped":
        return redirect("web:import-mapping", token=upload.token)
    messages.success(
        request, f"Uploaded {upload.name}. Billguard checked every row of it, as shown below."
    )
    return redirect("web:import-upload", token=upload.token)


def _runs_page(request: HttpRequest, *, dry_runs: bool) -> Any:
    """Return a page of import runs and history imports together, newest first.

    The union selects only the keys and start times. The rows of the page are then read in
    one query per table, without the runs' record lists.
    """
    runs = ImportRun.objects.all()
    if not dry_runs:
        runs = runs.filter(dry_run=False)
    # Each side of a union must be unordered (ImportRun has a default ordering).
    keys = (
        runs.order_by()
        .annotate(kind=Value("run", output_field=CharField()))
        .values("pk", "started_at", "kind")
    )
    history = (
        HistoryImport.objects.order_by()
        .annotate(kind=Value("history", output_field=CharField()))
        .values("pk", "started_at", "kind")
    )
    union = keys.union(history, all=True).order_by("-started_at", "-pk")
    result = paginate(request, cast(QuerySet[Any], union))
    run_ids = [row["pk"] for row in result.rows if row["kind"] == "run"]
    history_ids = [row["pk"] for row in result.rows if row["kind"] == "history"]
    loaded_runs = ImportRun.objects.select_related("run_by").defer("details").in_bulk(run_ids)
    loaded_history = HistoryImport.objects.in_bulk(history_ids)
    rows = []
    for key in result.rows:
        if key["kind"] == "run":
            rows.append(_run_row(loaded_runs[key["pk"]]))
        else:
            rows.append(_history_row(loaded_history[key["pk"]]))
    result.rows = rows
    return result


def _run_row(run: ImportRun) -> dict[str, Any]:
    status = "Imported"
    if run.dry_run:
        status = "Dry run"
    elif run.created == run.updated == run.change_requests == 0:
        status = "Nothing changed"
    return {
        "url": reverse("web:import-run", args=[run.pk]),
        "label": f"Import run {run.pk}",
        "source": run.get_source_display(),
        "files": [item.get("name", "") for item in run.files],
        "by": run.run_by.get_username() if run.run_by else "",
        "started_at": run.started_at,
        "records": run.created + run.updated + run.unchanged + run.change_requests,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "change_requests": run.change_requests,
        "status": status,
        "status_class": "warn" if run.dry_run else "good",
    }


def _history_row(batch: HistoryImport) -> dict[str, Any]:
    counts = batch.counts.values()
    return {
        "url": reverse("web:history-import", args=[batch.pk]),
        "label": f"History import {batch.pk}",
        "source": HISTORY_SOURCES.get(batch.source, batch.source),
        "files": [item.get("name", "") for item in batch.files.values()],
        "by": batch.user,
        "started_at": batch.started_at,
        "records": sum(item.get("read", 0) for item in counts),
        "created": sum(item.get("created", 0) for item in counts),
        "updated": sum(item.get("updated", 0) for item in counts),
        "unchanged": sum(item.get("unchanged", 0) for item in counts),
        "change_requests": None,
        "status": "Imported",
        "status_class": "good",
    }


ACTION_LABELS = {
    # (action, dry run) -> the label in the records table
    ("create", True): "Would create",
    ("create", False): "Created",
    ("update", True): "Would update",
    ("update", False): "Updated",
    ("unchanged", True): "Unchanged",
    ("unchanged", False): "Unchanged",
    ("change_request", True): "Would request a change",
    ("change_request", False): "Change requested",
}


def _records(details: list[dict[str, Any]], *, dry_run: bool) -> list[dict[str, Any]]:
    """Label each record of a run with what was (or would be) done with it."""
    return [
        {
            **item,
            "action_label": ACTION_LABELS.get(
                (item.get("action", ""), dry_run), str(item.get("action", "")).capitalize()
            ),
            "object_label": str(item.get("object_type", "")).replace("_", " "),
        }
        for item in details
    ]


def _headers(upload: Upload) -> tuple[list[str], list[dict[str, Any]]]:
    """Read the file's column headers, or the problems that kept them from being read."""
    problems = Problems()
    reader = read_xlsx if upload.path.suffix.lower() == ".xlsx" else read_csv
    table = reader(upload.name, upload.content(), problems)
    if table is None:
        return [], [
            {"place": p.place, "message": p.message, "fix": p.fix or ""} for p in problems.items
        ]
    return [header for header in table.headers if header], []


@page(CRM_ACTION)
def import_mapping(request: HttpRequest, token: str) -> HttpResponse:
    upload = _upload_for(request, token)
    if upload.spec.family != "mapped":
        return redirect("web:import-upload", token=upload.token)
    target = upload.spec.part
    source = upload.options.get("source", "")
    headers, unreadable = _headers(upload)
    saved = None
    if upload.mapping:
        saved = ColumnMapping.objects.filter(name=upload.mapping).first()
    if saved is None:
        saved = (
            ColumnMapping.objects.filter(source=source, target=target)
            .order_by("-saved_at", "-pk")
            .first()
        )
    if request.method == "POST" and headers:
        form = MappingForm(request.POST, target=target, headers=headers)
        if form.is_valid():
            try:
                mapping = mapping_save(
                    name=form.cleaned_data["name"],
                    target=target,
                    source=source,
                    columns=form.columns(),
                    by=cast(Any, request.user),
                )
            except BillguardError as error:
                add_service_error(form, error, {"--source": "name"})
            else:
                upload.mapping = mapping.name
                upload.save()
                upload.preview_forget()
                messages.success(
                    request,
                    f"Saved the column mapping {mapping.name}. It is filled in for the next "
                    f"{target.replace('_', ' ')} file from {source}.",
                )
                return redirect("web:import-upload", token=upload.token)
    else:
        initial: dict[str, str] = {
            "name": saved.name if saved else f"{source}-{target.replace('_', '-')}"
        }
        if saved is not None:
            for column, field_name in saved.columns.items():
                if column in headers:
                    initial[f"field_{field_name}"] = column
        form = MappingForm(initial=initial, target=target, headers=headers)
    return render(
        request,
        "web/imports/mapping.html",
        {
            "upload": upload,
            "form": form,
            "headers": headers,
            "unreadable": unreadable,
            "saved": saved,
            "source": source,
            "target": target.replace("_", " "),
        },
    )


@page()
def import_upload(request: HttpRequest, token: str) -> HttpResponse:
    """Show the dry run of an upload: its problems, or what the import would do."""
    upload = _upload_for(request, token)
    if upload.spec.family == "mapped" and not upload.mapping:
        return redirect("web:import-mapping", token=upload.token)
    preview = upload.preview()
    if preview is None:
        preview = run_upload(upload, by=cast(Any, request.user), dry_run=True)
        upload.preview_save(preview)
    rows = preview["problems"] or _records(preview["details"], dry_run=True)
    table = paginate(request, cast(QuerySet[Any], rows))
    context = {
        "upload": upload,
        "preview": preview,
        "page": table,
        "counts": preview["counts"],
        "problem_count": len(preview["problems"]),
        "record_count": len(preview["details"]),
        "history": upload.spec.family == "history",
        "last_row": table.first_row + len(table.rows) - 1,
    }
    if request.headers.get("HX-Request") and request.GET.get("part") == "table":
        return render(request, "web/imports/_preview_table.html", context)
    return render(request, "web/imports/preview.html", context)


@require_POST
@page()
def import_commit(request: HttpRequest, token: str) -> HttpResponse:
    upload = _upload_for(request, token)
    if upload.spec.family == "mapped" and not upload.mapping:
        return redirect("web:import-mapping", token=upload.token)
    result = run_upload(upload, by=cast(Any, request.user), dry_run=False)
    if not result["ok"]:
        upload.preview_save(result)
        count = len(result["problems"])
        messages.error(
            request,
            f"Nothing was imported: the file has {count} problem(s), listed below. Correct "
            "them in the file and upload it again.",
        )
        return redirect("web:import-upload", token=upload.token)
    upload.remove()
    audit_checkpoint()
    counts = result["counts"]
    changed = counts["created"] or counts["updated"] or counts.get("change_requests")
    if not changed:
        messages.success(
            request,
            f"Nothing changed: all {counts['unchanged']} records of {upload.name} are in "
            "Billguard as imported.",
        )
    elif upload.spec.family == "history":
        messages.success(
            request,
            f"Imported {upload.name}: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged.",
        )
    else:
        messages.success(
            request,
            f"Imported {upload.name}: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['change_requests']} change request(s); {counts['unchanged']} unchanged.",
        )
    if result.get("run_id"):
        return redirect("web:import-run", run_id=result["run_id"])
    if result.get("history_id"):
        return redirect("web:history-import", import_id=result["history_id"])
    return HttpResponseRedirect(reverse("web:imports"))


@require_POST
@page()
def import_discard(request: HttpRequest, token: str) -> HttpResponse:
    upload = _upload_for(request, token)
    upload.remove()
    messages.success(request, f"Removed the upload {upload.name}; nothing was imported.")
    return redirect("web:imports")


@page()
def import_run(request: HttpRequest, run_id: int) -> HttpResponse:
    _require_importer(request)
    run = get_object_or_404(ImportRun.objects.select_related("run_by"), pk=run_id)
    shown = run.details if request.GET.get("all") == "1" else [
        item for item in run.details if item.get("action") != "unchanged"
    ]  # fmt: skip
    table = paginate(request, cast(QuerySet[Any], _records(shown, dry_run=run.dry_run)))
    pending = sorted(
        {item["pending_request"] for item in run.details if item.get("pending_request")}
    )
    return render(
        request,
        "web/imports/run.html",
        {"run": run, "row": _run_row(run), "page": table, "pending": pending,
         "all": request.GET.get("all") == "1"},
    )  # fmt: skip


@page()
def history_import(request: HttpRequest, import_id: int) -> HttpResponse:
    _require_importer(request)
    batch = get_object_or_404(HistoryImport, pk=import_id)
    counts = [{"kind": kind.replace("_", " "), **values} for kind, values in batch.counts.items()]
    return render(
        request,
        "web/imports/history.html",
        {"batch": batch, "row": _history_row(batch), "counts": counts},
    )
