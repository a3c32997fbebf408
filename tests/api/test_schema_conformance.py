"""Every operation of /api/openapi.json returns the documented responses to generated requests.

Schemathesis generates requests from the OpenAPI document and sends them through the WSGI
application as fran.finance. Each response must have a documented status code, content type,
headers and body schema, and no response may be a server error. The document is read at
collection, so operations that other modules add are covered too.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

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


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_operation_conforms(case: schemathesis.Case, api_book: ApiBook) -> None:
    token, _ = Token.objects.get_or_create(user=api_book.users["fran.finance"])

    case.call_and_validate(headers={"Authorization": f"Token {token.key}"}, checks=CHECKS)
