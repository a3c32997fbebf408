"""The probabilistic matcher on small sets of party records (no database)."""

from __future__ import annotations

import pytest

from billguard.registry.duplicates import PartyRecord
from billguard.registry.matching.linkage import (
    COMPANY_MODEL,
    DEFAULT_THRESHOLD,
    model_for_dialect,
    model_settings,
)
from billguard.registry.matching.matcher import ProbabilisticMatcher

# Two companies that share nothing, added to every set so that the model scores pairs that
# must stay apart next to the pair under test.
BYSTANDERS = [
    PartyRecord(
        901,
        "Fabrikam Robotics Inc.",
        "94105",
        "",
        street="500 Howard Street",
        city="San Francisco",
        country="US",
    ),
    PartyRecord(
        902,
        "Tailspin Toys Ltd",
        "M1 1AE",
        "GB123456782",
        street="12 Piccadilly",
        city="Manchester",
        country="GB",
    ),
]


def company(party_id: int, name: str, **fields: str) -> PartyRecord:
    values = {
        "postcode": "80331",
        "tax_id": "",
        "street": "Marienplatz 8",
        "city": "Munich",
        "country": "DE",
    }
    values.update(fields)
    return PartyRecord(
        party_id,
        name,
        values["postcode"],
        values["tax_id"],
        street=values["street"],
        city=values["city"],
        country=values["country"],
    )


def pairs_of(*records: PartyRecord) -> set[tuple[int, int]]:
    found = ProbabilisticMatcher().find_pairs([*records, *BYSTANDERS])
    return {(pair.party_id, pair.other_party_id) for pair in found}


@pytest.mark.parametrize(
    ("name", "other_name"),
    [
        ("Northwind Traders GmbH", "NORTHWIND TRADERS G.m.b.H."),
        ("Contoso Incorporated", "Contoso, Inc."),
        ("Alpine Ski House Limited", "Alpine Ski House Ltd"),
        ("Litware Corporation", "Litware Corp."),
        ("Proseware Company", "Proseware Co"),
        ("Adatum Consulting & Partners GmbH", "Adatum Consulting and Partners GmbH"),
    ],
)
def test_legal_form_and_ampersand_variants_match(name, other_name):
    found = pairs_of(company(1, name), company(2, other_name))

    assert found == {(1, 2)}


def test_abbreviated_words_match():
    found = pairs_of(
        company(1, "Wingtip International Technologies GmbH"),
        company(2, "Wingtip Intl. Tech GmbH"),
    )

    assert found == {(1, 2)}


def test_typo_in_name_matches():
    found = pairs_of(company(1, "Woodgrove Logistics GmbH"), company(2, "Woodgorve Logistics GmbH"))

    assert found == {(1, 2)}


def test_reordered_and_abbreviated_address_matches():
    first = company(
        1, "Lucerne Publishing Inc", street="221 Baker Street", city="Boston", postcode="02116"
    )
    second = company(
        2, "Lucerne Publishing Inc", street="Baker St 221", city="BOSTON", postcode="02116"
    )

    assert pairs_of(first, second) == {(1, 2)}


def test_postcode_with_and_without_space_matches():
    first = company(1, "Humongous Insurance Ltd", postcode="SW1A 1AA", city="London")
    second = company(2, "Humongous Insurance Limited", postcode="sw1a1aa", city="London")

    assert pairs_of(first, second) == {(1, 2)}


def test_missing_tax_id_on_one_side_still_matches():
    first = company(1, "Coho Winery GmbH", tax_id="DE136695976")
    second = company(2, "Coho Winery GmbH", tax_id="")

    assert pairs_of(first, second) == {(1, 2)}


def test_same_tax_id_in_other_format_decides_alone():
    first = company(1, "Blue Yonder Airlines GmbH", tax_id="DE 136 695 976")
    second = company(2, "BYA Holding", tax_id="136.695.976", street="Hauptstrasse 1", city="Berlin")

    found = ProbabilisticMatcher().find_pairs([first, second, *BYSTANDERS])

    assert [(p.party_id, p.other_party_id) for p in found] == [(1, 2)]
    assert found[0].probability == 1.0
    assert found[0].reason == "same tax ID (DE136695976)"


def test_tax_id_of_other_country_not_decisive():
    first = company(1, "Fourth Coffee GmbH", tax_id="123456789", country="DE")
    second = company(2, "Graphic Design Institute", tax_id="123456789", country="US", city="Denver")

    assert pairs_of(first, second) == set()


def test_different_companies_at_one_address_stay_apart():
    first = company(1, "Saffron Robotics GmbH", tax_id="DE136695976")
    second = company(2, "Saffron Packaging GmbH", tax_id="DE129273398")

    assert pairs_of(first, second) == set()


def test_different_companies_without_tax_ids_stay_apart():
    first = company(1, "Margie's Travel GmbH", street="Leopoldstrasse 20", postcode="80802")
    second = company(2, "Trey Research GmbH", street="Sendlinger Strasse 3", postcode="80331")

    assert pairs_of(first, second) == set()


def test_reason_names_the_fields_that_agree():
    found = ProbabilisticMatcher().find_pairs(
        [company(1, "Contoso Incorporated"), company(2, "Contoso, Inc."), *BYSTANDERS]
    )

    assert len(found) == 1
    assert found[0].probability >= DEFAULT_THRESHOLD
    assert found[0].reason.startswith("match probability ")
    assert "name, address and country agree" in found[0].reason
    assert found[0].reason.endswith("tax ID missing")


def test_same_records_give_same_pairs_every_time():
    records = [
        company(1, "Contoso Incorporated"),
        company(2, "Contoso, Inc."),
        company(3, "Northwind Traders GmbH", tax_id="DE136695976"),
        company(4, "Northwind", tax_id="de136695976"),
        *BYSTANDERS,
    ]

    first = ProbabilisticMatcher().find_pairs(records)
    second = ProbabilisticMatcher().find_pairs(list(reversed(records)))

    assert first == second
    assert [(p.party_id, p.other_party_id) for p in first] == [(1, 2), (3, 4)]


def test_threshold_of_one_keeps_only_certain_pairs():
    records = [company(1, "Coho Winery GmbH"), company(2, "Coho Winary GmbH", postcode="80333")]

    loose = ProbabilisticMatcher(threshold=0.5).find_pairs([*records, *BYSTANDERS])
    strict = ProbabilisticMatcher(threshold=1.0).find_pairs([*records, *BYSTANDERS])

    assert [(p.party_id, p.other_party_id) for p in loose] == [(1, 2)]
    assert strict == []


def test_no_records_give_no_pairs():
    assert ProbabilisticMatcher().find_pairs([]) == []


def test_model_for_spark_keeps_the_shipped_probabilities():
    shipped = model_settings(COMPANY_MODEL)

    spark = model_for_dialect(COMPANY_MODEL, "spark")

    assert spark["sql_dialect"] == "spark"
    for ours, theirs in zip(spark["comparisons"], shipped["comparisons"], strict=True):
        assert [level.get("m_probability") for level in ours["comparison_levels"]] == [
            level.get("m_probability") for level in theirs["comparison_levels"]
        ]


def test_model_for_duckdb_rebuilds_the_shipped_comparisons():
    rebuilt = model_for_dialect(COMPANY_MODEL, "duckdb")

    assert rebuilt["comparisons"] == model_settings(COMPANY_MODEL)["comparisons"]
    assert (
        rebuilt["blocking_rules_to_generate_predictions"]
        == (model_settings(COMPANY_MODEL)["blocking_rules_to_generate_predictions"])
    )


def test_changed_record_is_matched_again():
    twins = [company(1, "Contoso Incorporated"), company(2, "Contoso, Inc."), *BYSTANDERS]
    renamed = [company(1, "Contoso Incorporated"), company(2, "Fourth Coffee AG"), *BYSTANDERS]

    before = ProbabilisticMatcher().find_pairs(twins)
    after = ProbabilisticMatcher().find_pairs(renamed)
    again = ProbabilisticMatcher().find_pairs(twins)

    assert [(p.party_id, p.other_party_id) for p in before] == [(1, 2)]
    assert after == []
    assert again == before
