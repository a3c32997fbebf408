"""Limit/offset pagination of every list, with strict checks of ``limit`` and ``offset``."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Pagination(LimitOffsetPagination):
    """``?limit=N&offset=M``: a page of at most ``limit`` items starting after ``offset`` items.

    The body is ``{"count", "next", "previous", "results"}``, where ``next`` and ``previous``
    are the URLs of the neighbouring pages, or null at either end. A ``limit`` or ``offset``
    that is not a whole number in range is rejected with 400 INVALID_INPUT instead of being
    replaced silently by the default.
    """

    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def get_limit(self, request: Request) -> int:
        text = request.query_params.get(self.limit_query_param)
        if text is None:
            return self.default_limit
        return whole_number(text, self.limit_query_param, minimum=1, maximum=self.max_limit)

    def get_offset(self, request: Request) -> int:
        text = request.query_params.get(self.offset_query_param)
        if text is None:
            return 0
        return whole_number(text, self.offset_query_param, minimum=0, maximum=None)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        body = super().get_paginated_response_schema(schema)
        body["required"] = ["count", "next", "previous", "results"]
        return body

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update(
                    {"minimum": 1, "maximum": self.max_limit, "default": self.default_limit}
                )
                parameter["description"] = (
                    f"Items per page, 1 to {self.max_limit} (default {self.default_limit})."
                )
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update({"minimum": 0, "default": 0})
                parameter["description"] = "Items to skip before the page starts (default 0)."
        return parameters


def whole_number(text: str, name: str, *, minimum: int, maximum: int | None) -> int:
    """Parse a query parameter as a whole number in range, or raise a 400 naming it."""
    stripped = text.strip()
    in_range = f"from {minimum} to {maximum}" if maximum is not None else f"of {minimum} or more"
    if not stripped.isdigit() or not stripped.isascii():
        raise serializers.ValidationError(
            {name: [f"{text!r} is not a whole number; give a whole number {in_range}."]}
        )
    value = int(stripped)
    if value < minimum or (maximum is not None and value > maximum):
        raise serializers.ValidationError(
            {name: [f"{value} is out of range; give a whole number {in_range}."]}
        )
    return value
