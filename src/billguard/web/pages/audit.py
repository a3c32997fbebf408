"""The audit log: the audit trail filtered by record, person, date and action, and its check.

"Verify the chain" runs the same verification as ``billguard audit verify`` within the
request, because the user waits for the result, and shows how long it took.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billguard.controls.models import AuditEntry
from billguard.controls.verify import audit_verify
from billguard.domain.errors import BillguardError
from billguard.web.access import page
from billguard.web.forms import DatePickerField, PageForm
from billguard.web.paging import paginate

logger = logging.getLogger(__name__)


class AuditFilterForm(PageForm):
    record_type = forms.CharField(label="Record type", required=False, max_length=60)
    record_id = forms.CharField(label="Record ID", required=False, max_length=60)
    actor = forms.CharField(label="Person", required=False, max_length=150)
    action = forms.CharField(label="Action", required=False, max_length=60)
    date_from = DatePickerField(label="From", required=False)
    date_until = DatePickerField(label="Until", required=False)
    sequence_until = forms.IntegerField(label="Up to entry", required=False, min_value=1)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_until")
        if start and end and end < start:
            self.add_error(
                "date_until",
                f"The date {end.isoformat()} is before the start date {start.isoformat()}. "
                "Give a date on or after it.",
            )
        return cleaned


@dataclass(frozen=True)
class FieldChange:
    """One field of an entry's before and after, for the before/after table."""

    name: str
    before: Any
    after: Any

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def before_text(self) -> str:
        return _as_text(self.before)

    @property
    def after_text(self) -> str:
        return _as_text(self.after)


def _as_text(value: Any) -> str:
    """Write a stored value as it reads in the trail: text as it is, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@page("audit_read")
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.none()
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        status = 200
        entries = _entries_filtered(form.cleaned_data if form.is_bound else {})
    listed = paginate(request, entries)
    rows = [(entry, _changes(entry)) for entry in listed.rows]
    return render(
        request,
        "web/audit/log.html",
        {"form": form, "page": listed, "rows": rows},
        status=status,
    )


@require_POST
@page("audit_read")
def audit_verify_chain(request: HttpRequest) -> HttpResponse:
    started = time.monotonic()
    try:
        result = audit_verify()
    except BillguardError as error:
        messages.error(request, f"The audit trail could not be verified: {error}")
        return redirect("web:audit")
    seconds = time.monotonic() - started
    took = f"in {seconds:.1f} s"
    logger.info(
        "audit trail verified by %s: %s, %d entries checked in %.3f s",
        request.user.get_username(),
        result.problem or "intact",
        result.entries_checked,
        seconds,
    )
    if result.intact:
        messages.success(
            request,
            f"The audit trail is intact: {result.entries_checked:,} entries checked {took}, "
            f"up to entry {result.last_sequence:,}.",
        )
    else:
        first = (
            f" The first entry in doubt is {result.first_bad_sequence:,}."
            if result.first_bad_sequence is not None
            else ""
        )
        messages.error(
            request,
            f"The audit trail was tampered with ({result.problem}): {result.message}.{first} "
            f"{result.entries_checked:,} entries checked {took}.",
        )
        if result.first_bad_sequence is not None:
            target = f"{reverse('web:audit')}?sequence_until={result.first_bad_sequence}"
            return redirect(target)
    return redirect("web:audit")


def _entries_filtered(filters: dict[str, Any]) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.order_by("-sequence")
    for name in ("record_type", "record_id", "actor", "action"):
        value = (filters.get(name) or "").strip()
        if value:
            entries = entries.filter(**{name: value})
    start: dt.date | None = filters.get("date_from")
    end: dt.date | None = filters.get("date_until")
    if start:
        entries = entries.filter(recorded_at__gte=_start_of(start))
    if end:
        entries = entries.filter(recorded_at__lt=_start_of(end + dt.timedelta(days=1)))
    if start or end:
        # The order of the sequence, unless two servers' clocks differ: an entry's time is
        # taken under the lock of the chain head. PostgreSQL then reads the newest entries of
        # the range from the index on (recorded_at, sequence), not back from the last entry.
        entries = entries.order_by("-recorded_at", "-sequence")
    if filters.get("sequence_until"):
        entries = entries.filter(sequence__lte=filters["sequence_until"])
    return entries


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the time zone of the site (TIME_ZONE)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _changes(entry: AuditEntry) -> list[FieldChange]:
    """Pair the fields of the entry's before and after. A value that is no object is one row."""
    before, after = entry.before, entry.after
    if not isinstance(before, dict) or not isinstance(after, dict):
        if before is None and after is None:
            return []
        if isinstance(before, dict) and after is None:
            return [FieldChange(name, value, None) for name, value in sorted(before.items())]
        if before is None and isinstance(after, dict):
            return [FieldChange(name, None, value) for name, value in sorted(after.items())]
        return [FieldChange("value", before, after)]
    names = sorted(set(before) | set(after))
    return [FieldChange(name, before.get(name), after.get(name)) for name in names]


urlpatterns = [
    path("audit/", audit_log, name="audit"),
    path("audit/verify/", audit_verify_chain, name="audit-verify"),
]
