"""The base of every API view: the acting user, query filters and paginated lists.

A resource module subclasses ``ApiView`` and documents each method with ``extend_schema``:
its success response, its own errors with ``error_responses(...)``, and its query filters as
a ``QueryFilters`` serializer in ``parameters``::

    class ContractFilters(QueryFilters):
        status = serializers.ChoiceField(choices=[...], required=False)

    class ContractList(ApiView):
        @extend_schema(parameters=[ContractFilters], responses={200: ContractSerializer(many=True)})
        def get(self, request):
            filters = self.query_filters(ContractFilters)
            return self.paginated(contracts_query(**filters), ContractSerializer)

The shared error responses (400, 401, 403, 404, 405, 406, and 409, 413, 415, 422 on writes)
and the Idempotency-Key header are added to the document by ``billguard.api.schema``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from billguard.api.pagination import Pagination


class QueryFilters(serializers.Serializer):
    """The query parameters that filter a list; each field is one documented parameter."""


class ApiView(GenericAPIView):
    """A view whose writes act as the token's user, and whose lists are paginated."""

    pagination_class = Pagination
    # No OPTIONS: the OpenAPI document describes each operation, so OPTIONS is a 405.
    http_method_names = ["get", "post", "put", "patch", "delete", "head"]

    def handle_exception(self, exc: Exception) -> Response:
        """Render every error as JSON, even where the view also sends XML or file bytes."""
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    @property
    def by(self) -> User:
        """The authenticated user, passed to services as ``by``."""
        user = self.request.user
        assert isinstance(user, User), "IsAuthenticated lets only a user in"
        return user

    def query_filters(self, filters_class: type[QueryFilters]) -> dict[str, Any]:
        """Validate the query parameters with ``filters_class``; an invalid one is a 400."""
        filters = filters_class(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return dict(filters.validated_data)

    def paginated(
        self,
        items: Iterable[Any],
        serializer_class: type[serializers.BaseSerializer],
        context: dict[str, Any] | None = None,
    ) -> Response:
        """Return one page of ``items`` (a query set or a list) with count and links."""
        page = self.paginate_queryset(items)
        data = serializer_class(
            page, many=True, context=context or self.get_serializer_context()
        ).data
        return self.get_paginated_response(data)
