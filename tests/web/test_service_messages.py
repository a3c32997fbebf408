"""Service messages that a page shows on their own start with a capital letter."""

from __future__ import annotations

import pytest

from billguard.domain.errors import InvalidInput, NotAllowed
from billguard.web.forms import as_sentence, service_text
from billguard.web.templatetags.billguard_web import sentence


def test_service_text_capitalises_page_only() -> None:
    error = InvalidInput(
        "the note is 600 characters long, over the limit of 500.",
        place="--note",
        fix="Shorten it.",
    )

    text = service_text(error)

    assert text == "The note is 600 characters long, over the limit of 500. Shorten it."
    assert (
        str(error) == "--note: the note is 600 characters long, over the limit of 500. Shorten it."
    )


@pytest.mark.parametrize(
    "text",
    [
        "sam.sales (sales) may not decide a dispute.",
        "'2026-13' is not a valid period.",
        "--reason is missing.",
        "ADE-000001 is not an issued invoice.",
        "finance_approver is not a role here.",
        "",
    ],
)
def test_as_sentence_keeps_names_and_values(text: str) -> None:
    assert as_sentence(text) == text


def test_service_text_keeps_the_named_value() -> None:
    error = NotAllowed("fran has already approved change request 4.", place="user", value="fran")

    assert service_text(error) == "fran has already approved change request 4."
    assert as_sentence("fran has already approved change request 4.") == (
        "Fran has already approved change request 4."
    )


def test_sentence_filter_and_its_value() -> None:
    assert sentence("the amount is missing.", "") == "The amount is missing."
    assert sentence("abc is not a number.", "abc") == "abc is not a number."
    assert sentence("chunk 2 failed", None) == "Chunk 2 failed"


@pytest.mark.django_db
def test_dashboard_month_error_has_no_place(signed_in) -> None:
    response = signed_in("fran.finance").get("/?through=2026-14")

    assert response.status_code == 400
    assert response.context["through_error"] == (
        "'2026-14' is not a valid period. Write it as YYYY-MM (2026-11), YYYY-Qn (2026-Q4) "
        "or YYYY (2026)."
    )
