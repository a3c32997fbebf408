"""Records named in a request path or body, found or reported as 404 NOT_FOUND."""

from __future__ import annotations

from typing import TypeVar

from django.db import models

from billguard.domain.errors import NotFound

ModelT = TypeVar("ModelT", bound=models.Model)


def record_or_404(
    queryset: models.QuerySet[ModelT] | models.Manager[ModelT],
    *,
    field: str,
    noun: str,
    fix: str,
    **lookup: object,
) -> ModelT:
    """Return the one record of ``queryset`` matching ``lookup``, or raise NotFound on ``field``."""
    record = queryset.filter(**lookup).first()
    if record is None:
        value = next(iter(lookup.values()))
        raise NotFound(f"{noun} {value!r} does not exist.", place=field, value=value, fix=fix)
    return record
