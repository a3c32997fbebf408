"""The Idempotency-Key header, honoured on every POST under /api/.

The first POST with a key claims it for its user before the view runs, and stores the response
when the view returns. A retry with the same key and the same request gets the stored
response again with ``Idempotent-Replayed: true`` and changes nothing. The same key with
another request is rejected with 422 IDEMPOTENCY_KEY_REUSED, and a retry while the first
request still runs gets 409 IDEMPOTENCY_REQUEST_IN_PROGRESS. A 5xx response is not stored,
so the client may retry with the same key.

This is a middleware, not a view base class, so every API view gets it, including views
that other modules add.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable

from django.contrib.auth.models import User
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.settings import api_settings

from billguard.api.errors import INVALID_INPUT, REQUEST_TOO_LARGE, error_response, is_api_path
from billguard.api.models import IdempotencyKey

logger = logging.getLogger("billguard.api")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
REQUEST_IN_PROGRESS = "IDEMPOTENCY_REQUEST_IN_PROGRESS"
MAX_KEY_LENGTH = 255
# A stored response is replayed for this long; after it, the key may be used afresh.
KEY_LIFETIME = dt.timedelta(hours=24)
# A request still marked in progress after this long is taken as abandoned (its process died),
# so a retry runs it again instead of getting 409 forever.
IN_PROGRESS_LIMIT = dt.timedelta(hours=1)


class IdempotencyMiddleware:
    """Claim, store and replay the responses of POSTs under /api/ with an Idempotency-Key."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not is_api_path(request):
            return self.get_response(request)
        if not key or len(key) > MAX_KEY_LENGTH or not all("!" <= c <= "~" for c in key):
            return error_response(
                400,
                INVALID_INPUT,
                f"{key[:40]!r} is not a valid Idempotency-Key. Give 1 to {MAX_KEY_LENGTH} "
                "printable ASCII characters without spaces, such as a UUID.",
                HEADER,
            )
        user = authenticated_user(request)
        if user is None:
            # The view rejects the request with 401; there is nothing to store.
            return self.get_response(request)
        try:
            fingerprint = request_fingerprint(request)
        except RequestDataTooBig:
            return error_response(
                413,
                REQUEST_TOO_LARGE,
                "The request body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE).",
            )
        claimed = claim(user, key, request, fingerprint)
        if isinstance(claimed, HttpResponseBase):
            return claimed
        response = self.get_response(request)
        finish(claimed, response)
        return response


def authenticated_user(request: HttpRequest) -> User | None:
    """Return the user of the request's credentials as the API views authenticate them."""
    drf_request = Request(request)
    for authentication_class in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        try:
            result = authentication_class().authenticate(drf_request)
        except exceptions.APIException:
            return None
        if result is not None:
            user = result[0]
            return user if isinstance(user, User) and user.is_active else None
    return None


def request_fingerprint(request: HttpRequest) -> str:
    """Hash the method, path with query string and body of the request.

    A multipart body is hashed by its parsed fields and files, because a client's retry may
    choose another boundary for the same content. Parsing it here leaves request.POST and
    request.FILES for DRF, which reuses them.
    """
    digest = hashlib.sha256()
    digest.update(f"{request.method}\n{request.get_full_path()}\n".encode())
    content_type = request.content_type or ""
    if content_type == "multipart/form-data":
        for name in sorted(request.POST):
            for value in request.POST.getlist(name):
                digest.update(f"field\n{name}\n{len(value)}\n{value}\n".encode())
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                digest.update(f"file\n{name}\n{upload.name}\n{upload.size}\n".encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    else:
        digest.update(f"{content_type}\n".encode())
        digest.update(request.body)
    return digest.hexdigest()


def claim(
    user: User, key: str, request: HttpRequest, fingerprint: str
) -> IdempotencyKey | HttpResponseBase:
    """Store the key as in progress, or return the response to send instead of running the view."""
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    method=request.method or "",
                    path=request.get_full_path()[:2048],
                    request_hash=fingerprint,
                    created_at=now,
                )
        except IntegrityError:
            pass
        stored = IdempotencyKey.objects.filter(user=user, key=key).first()
        if stored is None:
            continue
        expired = stored.created_at < now - KEY_LIFETIME
        abandoned = stored.response_status is None and stored.created_at < now - IN_PROGRESS_LIMIT
        if expired or abandoned:
            if abandoned:
                logger.warning(
                    "idempotency key %s of user %s was in progress since %s; running it again",
                    stored.pk,
                    stored.user_id,
                    stored.created_at.isoformat(),
                )
            stored.delete()
            continue
        return stored_response(stored, fingerprint)
    # Another request took the key between the delete and the create.
    return error_response(
        409,
        REQUEST_IN_PROGRESS,
        "Another request with this Idempotency-Key is in progress. "
        "Retry it later with the same key.",
        HEADER,
    )


def stored_response(stored: IdempotencyKey, fingerprint: str) -> HttpResponseBase:
    if stored.request_hash != fingerprint:
        return error_response(
            422,
            KEY_REUSED,
            f"This Idempotency-Key was used for another request ({stored.method} "
            f"{stored.path}, or the same path with another body). Use a new key for a new request.",
            HEADER,
        )
    if stored.response_status is None:
        return error_response(
            409,
            REQUEST_IN_PROGRESS,
            "The first request with this Idempotency-Key is still in progress. Retry later "
            "with the same key to get its response.",
            HEADER,
        )
    response = HttpResponse(
        bytes(stored.response_body or b""),
        status=stored.response_status,
        content_type=stored.response_content_type or None,
    )
    response[REPLAYED_HEADER] = "true"
    return response


def finish(claimed: IdempotencyKey, response: HttpResponseBase) -> None:
    """Store the response, or release the key when the response cannot be replayed."""
    if response.status_code >= 500 or response.streaming or not isinstance(response, HttpResponse):
        claimed.delete()
        return
    claimed.response_status = response.status_code
    claimed.response_body = response.content
    claimed.response_content_type = response.get("Content-Type", "")
    claimed.save(update_fields=["response_status", "response_body", "response_content_type"])
