"""The part of a list page that an htmx request expects."""

from __future__ import annotations

from django.http import HttpRequest


def table_only(request: HttpRequest) -> bool:
    """Whether htmx requests the table alone: a filter or page change, not a history restore.

    htmx restores a page that has dropped out of its history cache by requesting it with
    HX-History-Restore-Request, and that request needs the whole page.
    """
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )
