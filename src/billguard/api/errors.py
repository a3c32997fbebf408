"""One error body for every error response of the API, with a stable code per error.

Every error, whether a service's BillguardError, a DRF exception or an unknown /api/ path,
is rendered as::

    {"errors": [{"code": "NOT_FOUND", "field": "contract", "message": "..."}]}

``field`` names the request field (body field, query parameter or header) the error is
about, or is null when the error concerns the request as a whole.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found as django_page_not_found
from django.views.defaults import server_error as django_server_error
from rest_framework import exceptions, status
from rest_framework.response import Response

from billguard.domain.errors import (
    BillguardError,
    CurrencyMismatch,
    InvalidInput,
    NotAllowed,
    NotFound,
    RuleViolation,
)

logger = logging.getLogger("billguard.api")

API_PREFIX = "/api/"

# Stable codes of the errors the API itself raises. Services add their own codes (such as
# INVALID_PERIOD), which pass through unchanged.
INVALID_INPUT = "INVALID_INPUT"
PARSE_ERROR = "PARSE_ERROR"
NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
PERMISSION_DENIED = "PERMISSION_DENIED"
NOT_FOUND = "NOT_FOUND"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
THROTTLED = "THROTTLED"
SERVER_ERROR = "SERVER_ERROR"

# The HTTP status of each BillguardError type; a type not listed (the base class, with a
# service-specific code) is a bad request.
STATUS_BY_ERROR_TYPE: Sequence[tuple[type[BillguardError], int]] = (
    (NotAllowed, status.HTTP_403_FORBIDDEN),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (RuleViolation, status.HTTP_409_CONFLICT),
    (CurrencyMismatch, status.HTTP_400_BAD_REQUEST),
    (InvalidInput, status.HTTP_400_BAD_REQUEST),
)

# The code of each DRF exception type other than ValidationError.
CODE_BY_DRF_EXCEPTION: Sequence[tuple[type[exceptions.APIException], str]] = (
    (exceptions.ParseError, PARSE_ERROR),
    (exceptions.NotAuthenticated, NOT_AUTHENTICATED),
    (exceptions.AuthenticationFailed, NOT_AUTHENTICATED),
    (exceptions.PermissionDenied, PERMISSION_DENIED),
    (exceptions.NotFound, NOT_FOUND),
    (exceptions.MethodNotAllowed, METHOD_NOT_ALLOWED),
    (exceptions.NotAcceptable, NOT_ACCEPTABLE),
    (exceptions.UnsupportedMediaType, UNSUPPORTED_MEDIA_TYPE),
    (exceptions.Throttled, THROTTLED),
)

# A BillguardError's ``place`` becomes the error's ``field`` when it is a field name, such as
# ``period`` or ``lines[2].quantity``. Any other place, such as "rates.csv row 4", starts the
# message instead.
FIELD_NAME = re.compile(r"^[A-Za-z_][\w.\-\[\]]*$")

# Places that name the acting user in the CLI (--user); over the API it is the token's user.
ACTING_USER_PLACES = frozenset({"user", "--user"})


def error_entry(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """Build one entry of the ``errors`` list."""
    return {"code": code, "field": field, "message": message}


def error_body(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"errors": entries}


def billguard_error_status(error: BillguardError) -> int:
    for error_type, http_status in STATUS_BY_ERROR_TYPE:
        if isinstance(error, error_type):
            return http_status
    return status.HTTP_400_BAD_REQUEST


def billguard_error_entry(error: BillguardError) -> dict[str, Any]:
    """Render a service error: its code, its place as the field when it is one, and the fix."""
    field: str | None = None
    place = (error.place or "").strip()
    message = error.message.strip()
    if place in ACTING_USER_PLACES:
        # The acting user comes from the token, not from a request field.
        place = ""
    if place.startswith("--"):
        # A CLI option name, such as --user, reads as the request field of the same name.
        place = place[2:].replace("-", "_")
    words = place.split()
    if 1 < len(words) <= 3 and all(word.isalpha() for word in words):
        # A place written in words, such as "tax ID", names the field tax_id.
        place = "_".join(words).lower()
    if place and FIELD_NAME.match(place):
        field = place
    elif place:
        message = f"{place}: {message}"
    if error.fix:
        message = f"{message} {error.fix.strip()}"
    code = PERMISSION_DENIED if isinstance(error, NotAllowed) else error.code
    return error_entry(code, message, field)


def validation_entries(detail: Any, field: str | None = None) -> list[dict[str, Any]]:
    """Flatten a ValidationError's detail into one entry per field and message.

    Nested fields are joined with dots (``lines.0.quantity``); DRF's ``non_field_errors``
    becomes a null field.
    """
    if isinstance(detail, Mapping):
        entries: list[dict[str, Any]] = []
        for key, value in detail.items():
            name = None if key == "non_field_errors" else str(key)
            path = f"{field}.{name}" if field and name else (name or field)
            entries.extend(validation_entries(value, path))
        return entries
    if isinstance(detail, list):
        entries = []
        for position, item in enumerate(detail):
            if isinstance(item, Mapping | list):
                entries.extend(validation_entries(item, f"{field}.{position}" if field else None))
            else:
                entries.extend(validation_entries(item, field))
        return entries
    message = str(detail)
    return [error_entry(INVALID_INPUT, message, field)]


def drf_error_code(error: exceptions.APIException) -> str:
    for exception_type, code in CODE_BY_DRF_EXCEPTION:
        if isinstance(error, exception_type):
            return code
    return str(error.default_code).upper()


def exception_handler(error: Exception, context: Mapping[str, Any]) -> Response | None:
    """Render ``error`` in the API's error body (REST_FRAMEWORK["EXCEPTION_HANDLER"]).

    Return None for an unexpected exception, so that Django logs it and returns the
    JSON 500 of ``server_error``.
    """
    headers: dict[str, str] = {}
    if isinstance(error, BillguardError):
        http_status = billguard_error_status(error)
        entries = [billguard_error_entry(error)]
    elif isinstance(error, Http404):
        http_status = status.HTTP_404_NOT_FOUND
        entries = [error_entry(NOT_FOUND, str(error) or "Not found.")]
    elif isinstance(error, DjangoPermissionDenied):
        http_status = status.HTTP_403_FORBIDDEN
        message = str(error) or "You do not have permission to perform this action."
        entries = [error_entry(PERMISSION_DENIED, message)]
    elif isinstance(error, exceptions.ValidationError):
        http_status = status.HTTP_400_BAD_REQUEST
        entries = validation_entries(error.detail) or [
            error_entry(INVALID_INPUT, "The request is invalid.")
        ]
    elif isinstance(error, exceptions.APIException):
        http_status = error.status_code
        entries = [error_entry(drf_error_code(error), str(error.detail))]
        authenticate_header = getattr(error, "auth_header", None)
        if authenticate_header:
            headers["WWW-Authenticate"] = authenticate_header
        wait = getattr(error, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(int(wait))
    else:
        return None
    if isinstance(error, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        headers.setdefault("WWW-Authenticate", "Token")
    return Response(error_body(entries), status=http_status, headers=headers)


def error_response(
    http_status: int, code: str, message: str, field: str | None = None
) -> JsonResponse:
    """Build a plain Django response with the error body, for code outside DRF views."""
    return JsonResponse(error_body([error_entry(code, message, field)]), status=http_status)


def is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX) or request.path == API_PREFIX.rstrip("/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's handler404: the error body for /api/ paths, Django's page elsewhere."""
    if is_api_path(request):
        return error_response(
            status.HTTP_404_NOT_FOUND,
            NOT_FOUND,
            f"No API resource at {request.path}. The document /api/openapi.json lists the paths.",
        )
    return django_page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: the error body for /api/ paths, Django's page elsewhere."""
    if is_api_path(request):
        return error_response(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            SERVER_ERROR,
            "The server failed to handle the request; the error is in the server log. "
            "Retry later, or report it with the time of the request.",
        )
    return django_server_error(request)
