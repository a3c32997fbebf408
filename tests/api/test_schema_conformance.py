"""Every operation of /api/openapi.json returns the documented responses to generated requests.

Schemathesis generates requests from the OpenAPI document and sends them through the WSGI
application as fran.finance. Each response must have a documented status code, content type,
headers and body schema, and no response may be a server error. The document is read at
collection, so operations that other modules add are covered too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billguard.registry.models import Document
from billguard.wsgi import application
from tests.api.conftest import ApiBook

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def connection_kept_open() -> Iterator[None]:
    """Keep the test's database connection open across the WSGI requests.

    Django closes the connection when a request finishes, which on PostgreSQL would end the
    test's transaction. Django's own test client disconnects the same handler.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("connection_kept_open")
@schema.parametrize()
@settings(
    max_examples=4,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_operation_conforms(case: schemathesis.Case, api_book: ApiBook) -> None:
    token, _ = Token.objects.get_or_create(user=api_book.users["fran.finance"])
    headers = {"Authorization": f"Token {token.key}"}

    case.call_and_validate(headers=headers, checks=CHECKS)

    # Generated path values rarely name a record, so each case is sent again for the book's
    # records, to check the responses about existing ones too.
    known = known_path_parameters(case.operation.path, api_book)
    if known:
        case.path_parameters = {**(case.path_parameters or {}), **known}
        case.call_and_validate(headers=headers, checks=CHECKS)


def known_path_parameters(path: str, book: ApiBook) -> dict[str, str]:
    """Return path values naming the book's records for the operation at ``path``."""
    collection = path.removeprefix("/api/").split("/")[0]
    record_ids = {
        "billing-runs": book.run.pk,
        "documents": Document.objects.order_by("pk").values_list("pk", flat=True).first(),
        "change-requests": book.change_request.pk,
        "exceptions": book.held.pk,
        "invoices": book.issued.pk,
    }
    known: dict[str, str] = {}
    if "{id}" in path and record_ids.get(collection) is not None:
        known["id"] = str(record_ids[collection])
    if collection == "parties":
        known["code"] = "CUST-1"
    if collection == "bill-tos":
        known["code"] = "CUST-1-BT"
    if "{number}" in path:
        known["number"] = "C-1"
    if "{amendment}" in path:
        known["amendment"] = book.amendment.number
    return known
