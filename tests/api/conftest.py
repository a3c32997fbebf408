"""A small book for the API tests: the sample users with tokens, two contracts, one run.

C-1 is clean, so the run of 2026-11 issues its invoice. C-2 bills CUST-2, whose tax ID has a
wrong check digit, so its draft is held with TAX_ID_INVALID. sam.sales has a pending change
request on C-1's payment terms and a drafted amendment A-0 of C-1.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billguard.billing.models import BillingRun, Invoice
from billguard.billing.run import billing_run_execute
from billguard.controls.models import ChangeRequest
from billguard.controls.requests import change_request_create
from billguard.domain.periods import parse_period
from billguard.registry.models import Amendment, Contract
from billguard.registry.services.amendments import amendment_draft
from tests.factories import make_contract, make_customer


@dataclass
class ApiBook:
    users: dict[str, User]
    run: BillingRun
    issued: Invoice
    held: Invoice
    change_request: ChangeRequest
    amendment: Amendment

    def client(self, username: str) -> APIClient:
        """Return a client that authenticates as ``username`` with its token."""
        token, _ = Token.objects.get_or_create(user=self.users[username])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client


@pytest.fixture
def api_book(sample_users: dict[str, User], settings) -> ApiBook:  # type: ignore[no-untyped-def]
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
    make_contract("C-1")
    make_customer("CUST-2", name="Contoso AG", tax_id="DE123456789")
    make_contract("C-2", customer_code="CUST-2")
    result = billing_run_execute(period=parse_period("2026-11"), by=sample_users["fran.finance"])
    assert result.billing_run_id is not None
    run = BillingRun.objects.get(pk=result.billing_run_id)
    issued = Invoice.objects.get(contract__number="C-1", status=Invoice.Status.ISSUED)
    held = Invoice.objects.get(contract__number="C-2", status=Invoice.Status.HELD)
    sales = sample_users["sam.sales"]
    change_request = change_request_create(
        by=sales,
        target="contract",
        target_id=issued.contract_id or 0,
        changes={"payment_terms_days": 45},
        reason="customer asked for longer terms",
    )
    amendment = amendment_draft(
        contract=Contract.objects.get(number="C-1"),
        number="A-0",
        effective_from=dt.date(2027, 1, 1),
        changes={"payment_terms_days": 60},
        by=sales,
    )
    return ApiBook(
        users=sample_users,
        run=run,
        issued=issued,
        held=held,
        change_request=change_request,
        amendment=amendment,
    )


def error_codes(response) -> list[str]:  # type: ignore[no-untyped-def]
    """Return the codes of an error response, checking the body has the error format."""
    body = json.loads(response.content)
    assert set(body) == {"errors"}, body
    for entry in body["errors"]:
        assert set(entry) == {"code", "field", "message"}, entry
    return [entry["code"] for entry in body["errors"]]
