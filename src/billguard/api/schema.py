"""The OpenAPI parts every operation shares: the error body, its responses, Idempotency-Key.

``document_errors`` is a drf-spectacular post-processing hook (SPECTACULAR_SETTINGS
["POSTPROCESSING_HOOKS"]). It adds the error responses that any operation can return and the
Idempotency-Key header of every POST, so a view only documents its own success responses and
the errors particular to it (``error_responses(404, 409)``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse

ERROR_COMPONENT = "ErrorResponse"
ERROR_ENTRY_COMPONENT = "Error"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}

ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    ERROR_ENTRY_COMPONENT: {
        "type": "object",
        "description": "One error: a stable code, the request field it is about, and a text "
        "naming the value and the fix.",
        "required": ["code", "field", "message"],
        "properties": {
            "code": {"type": "string", "example": "NOT_FOUND"},
            "field": {
                "type": "string",
                "nullable": True,
                "description": "The body field, query parameter or header; null when the "
                "error is about the request as a whole.",
                "example": "period",
            },
            "message": {"type": "string"},
        },
    },
    ERROR_COMPONENT: {
        "type": "object",
        "description": "The body of every error response.",
        "required": ["errors"],
        "properties": {
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": f"#/components/schemas/{ERROR_ENTRY_COMPONENT}"},
            }
        },
    },
}

ERROR_DESCRIPTIONS = {
    400: "Invalid input: a malformed body, field, query parameter or header.",
    401: "No token, or an unknown or inactive user's token (NOT_AUTHENTICATED).",
    403: "The user's roles do not allow the action (PERMISSION_DENIED).",
    404: "The resource does not exist (NOT_FOUND).",
    405: "The method is not allowed on this path (METHOD_NOT_ALLOWED).",
    406: "No acceptable media type for the Accept header (NOT_ACCEPTABLE).",
    409: "A business rule forbids the request, or a request with the same Idempotency-Key "
    "is still in progress.",
    413: "The request body is larger than the server accepts (REQUEST_TOO_LARGE).",
    415: "The request body's media type is not accepted (UNSUPPORTED_MEDIA_TYPE).",
    422: "The Idempotency-Key was used before with a different request (IDEMPOTENCY_KEY_REUSED).",
}

# Errors any operation may return: bad query or path values, a missing token, a role that
# does not allow it, an unknown id, and an Accept header it cannot satisfy.
EVERY_OPERATION_ERRORS = (400, 401, 403, 404, 405, 406)
# Errors of any operation with a request body, in addition.
BODY_OPERATION_ERRORS = (413, 415)
# Errors of a POST through the Idempotency-Key header, in addition.
POST_ERRORS = (409, 422)

IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A unique key per intended change, such as a UUID. A retry with the same "
    "key and the same request returns the stored response with the header "
    "Idempotent-Replayed: true, and changes nothing again. The same key with a different "
    "request is rejected with 422 IDEMPOTENCY_KEY_REUSED; while the first request is still "
    "running, a retry gets 409 IDEMPOTENCY_REQUEST_IN_PROGRESS. Keys are kept per user for "
    "24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Build the error responses of a view's ``extend_schema(responses=...)``, by HTTP status.

    The post-processing hook gives them the error body; a status without a stock description
    needs one from the view, such as ``{409: OpenApiResponse(description="...")}``.
    """
    return {
        status: OpenApiResponse(description=ERROR_DESCRIPTIONS.get(status, "An error."))
        for status in statuses
    }


def document_errors(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Give every operation the shared error responses and every POST its Idempotency-Key."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(ERROR_SCHEMAS)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            statuses = list(EVERY_OPERATION_ERRORS)
            if "requestBody" in operation:
                statuses.extend(BODY_OPERATION_ERRORS)
            if method == "post":
                statuses.extend(POST_ERRORS)
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(dict(IDEMPOTENCY_PARAMETER))
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(str(status), {"description": ERROR_DESCRIPTIONS[status]})
            for status_text, response in responses.items():
                if status_text.isdigit() and int(status_text) >= 400 and "content" not in response:
                    response["content"] = {"application/json": {"schema": dict(ERROR_REF)}}
    return result
