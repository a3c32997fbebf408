"""The date fields of the pages: the browser's date picker, a hint giving the date's meaning,
and errors naming the value and the form the server reads."""

from __future__ import annotations

import re

import pytest

from billguard.controls.models import ChangeRequest
from billguard.receivables.models import Dispute
from tests.factories import make_contract
from tests.receivables.conftest import Receivables, receivables  # noqa: F401

pytestmark = pytest.mark.django_db

# The pages with a date field, the user who may fill it in and the field's name.
DATE_FIELDS = [
    ("/contracts/C-1/", "sam.sales", "effective_from"),
    ("/disputes/new/", "fran.finance", "opened_on"),
    ("/customers/CUST-1/", "fran.finance", "as_of"),
    ("/audit/", "fran.finance", "date_from"),
    ("/audit/", "fran.finance", "date_until"),
]


@pytest.mark.parametrize(("path", "username", "name"), DATE_FIELDS)
def test_date_field_hint_names_no_format(
    signed_in,
    receivables: Receivables,  # noqa: F811
    path: str,
    username: str,
    name: str,
) -> None:
    # The receivables hold contract C-1 of customer CUST-1, with issued invoices.
    body = signed_in(username).get(path).content.decode()
    field = re.search(rf'<div class="field">\s*<label for="id_{name}">.*?</div>', body, re.S)

    assert field is not None
    assert re.search(rf'<input type="date" name="{name}"', field.group(0))
    assert "YYYY" not in field.group(0).upper()


def test_change_request_refuses_locale_date(signed_in) -> None:
    make_contract()

    response = signed_in("sam.sales").post(
        "/contracts/C-1/request-change/",
        {"line": "L1", "unit_price": "1100", "effective_from": "12/31/2026", "reason": "rate"},
    )

    assert response.context["change_form"].errors["effective_from"] == [
        "Takes effect on: '12/31/2026' is not a date. Choose the day again in the date field; "
        "the server reads a date as YYYY-MM-DD, such as 2026-12-01."
    ]
    assert 'id="id_effective_from_error"' in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_dispute_refuses_impossible_date(
    signed_in,
    receivables: Receivables,  # noqa: F811
) -> None:
    response = signed_in("fran.finance").post(
        "/disputes/new/",
        {
            "invoice_number": "ADE-000001",
            "reason": "wrong_price",
            "amount": "119.00",
            "opened_on": "2026-09-31",
        },
    )

    errors = response.context["form"].errors
    assert list(errors) == ["opened_on"]
    assert "Date the customer raised it: '2026-09-31' is not a date." in errors["opened_on"][0]
    assert "YYYY-MM-DD, such as 2026-12-01" in errors["opened_on"][0]
    assert not Dispute.objects.exists()


def test_audit_filter_refuses_locale_date(signed_in) -> None:
    response = signed_in("fran.finance").get("/audit/", {"date_from": "01/12/2026"})

    assert response.status_code == 400
    assert (
        response.context["form"]
        .errors["date_from"][0]
        .startswith("From: '01/12/2026' is not a date.")
    )


def test_picker_shows_given_date(signed_in) -> None:
    response = signed_in("fran.finance").get("/audit/", {"date_until": "2026-11-30"})

    assert response.status_code == 200
    assert 'type="date" name="date_until" value="2026-11-30"' in response.content.decode()
