"""The normalised columns that the company comparisons read."""

from __future__ import annotations

import pytest

from billguard.registry.matching.normalise import (
    company_columns,
    normalise_company_name,
    normalise_postcode,
    normalise_tax_id,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ACME, Ltd.", "acme"),
        ("Acme Limited", "acme"),
        ("The Acme Intl. Co., Ltd", "acme international"),
        ("Baker & Sons GmbH", "baker and sons"),
        ("Ember Health GmbH & Co. KG", "ember health"),
        ("Yosemeal Designs S.A.R.L.", "yosemeal designs"),
        ("Müller Technik GmbH", "muller technik"),
        ("Vimeme Group Incorpoiated", "vimeme group"),
        ("Co.", "co"),
    ],
)
def test_normalise_company_name(name, expected):
    assert normalise_company_name(name) == expected


def test_company_columns_split_house_number_from_street():
    first = company_columns(
        name="X", street="12 Main St", city="Springfield", postcode="", tax_id="", country="us"
    )
    second = company_columns(
        name="X", street="Main Street 12", city="SPRINGFIELD", postcode="", tax_id="", country="US"
    )

    assert (first.street, first.house_number, first.city) == ("main street", "12", "springfield")
    assert first == second


def test_german_street_spellings_agree():
    first = company_columns(
        name="X", street="Hauptstraße 5", city="", postcode="", tax_id="", country="DE"
    )
    second = company_columns(
        name="X", street="Hauptstrasse 5", city="", postcode="", tax_id="", country="DE"
    )

    assert first.street == second.street == "hauptstrasse"


@pytest.mark.parametrize(
    ("tax_id", "country", "expected"),
    [
        ("DE 136 695 976", "DE", "136695976"),
        ("136695976", "DE", "136695976"),
        ("de136695976", "DE", "136695976"),
        ("EL 094259216", "GR", "094259216"),
        ("12-3456789", "US", "123456789"),
        ("", "DE", ""),
    ],
)
def test_normalise_tax_id(tax_id, country, expected):
    assert normalise_tax_id(tax_id, country) == expected


def test_normalise_postcode():
    assert normalise_postcode("sw1a 1aa") == "SW1A1AA"
