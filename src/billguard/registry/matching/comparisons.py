"""The two comparison sets of the matcher, and the blocking rules that keep them tractable.

A comparison set states, field by field, how alike two records are (the same value, a small
typo, a different value, one of them missing). The model gives each outcome a weight from
its m probability (how often a true duplicate shows it) and its u probability (how often two
different parties do), and sums the weights into a match probability (Fellegi and Sunter,
"A Theory for Record Linkage", JASA 1969).

Blocking rules decide which pairs are compared at all: only pairs that share one of the keys
listed are scored, so that a million records make millions of pairs, not half a trillion.
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

# The columns of a company record, after billguard.registry.matching.normalise.
COMPANY_COLUMNS = (
    "name",
    "street",
    "house_number",
    "city",
    "postcode",
    "tax_id",
    "country",
)

# The columns of a person record: the fields of the FEBRL data sets (Christen, "Febrl: a
# freely available record linkage system", 2008).
PERSON_COLUMNS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)


def company_settings(link_type: str = "dedupe_only") -> SettingsCreator:
    """Build the company comparison set, untrained: the model file contains its m and u values."""
    return SettingsCreator(
        link_type=link_type,  # type: ignore[arg-type]
        comparisons=[
            _company_name_comparison(),
            _address_comparison(),
            cl.LevenshteinAtThresholds("tax_id", [1]),
            cl.ExactMatch("country"),
        ],
        blocking_rules_to_generate_predictions=company_blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _company_name_comparison() -> Any:
    """Names the same, or one to three typos apart ("Pero Laboratories" and "Pero
    Laboratories Gk", a legal form mistyped). Names that share only their first word
    ("Saffron Robotics" and "Saffron Packaging") are different: a group often names its
    companies so, which is why no level looks at the start of the name alone."""
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name"),
            cll.DamerauLevenshteinLevel("name", 1),
            cll.DamerauLevenshteinLevel("name", 2),
            cll.DamerauLevenshteinLevel("name", 3),
            cll.ElseLevel(),
        ],
    )


def _address_comparison() -> Any:
    """Street, house number, postcode and city compared as one address. They are not
    independent (a street lies in one city and postcode), so weighing each of them apart
    would count one shared address three times, and neighbours would look like duplicates."""
    same_number = "coalesce(house_number_l, '') = coalesce(house_number_r, '')"
    street_alike = "jaro_winkler_similarity(street_l, street_r) >= 0.9"
    same_place = "(postcode_l = postcode_r or city_l = city_r)"
    city_alike = "jaro_winkler_similarity(city_l, city_r) >= 0.9"
    levels = [
        (
            "(street_l is null and postcode_l is null and city_l is null) or "
            "(street_r is null and postcode_r is null and city_r is null)",
            "no address",
        ),
        (
            f"street_l = street_r and {same_number} and postcode_l = postcode_r",
            "same address",
        ),
        (f"{street_alike} and {same_number} and {same_place}", "address alike"),
        (f"{street_alike} and {same_place}", "same street, other house number"),
        ("postcode_l = postcode_r", "same postcode, other street"),
        (city_alike, "same city, other street and postcode"),
    ]
    comparison_levels: list[Any] = [
        cll.CustomLevel(sql, label_for_charts=label, base_dialect_str="duckdb")
        for sql, label in levels
    ]
    comparison_levels[0] = {
        "sql_condition": levels[0][0],
        "label_for_charts": levels[0][1],
        "is_null_level": True,
    }
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[*comparison_levels, cll.ElseLevel()],
    )


def company_blocking_rules() -> list[Any]:
    """Pairs that share a tax ID, a name, a postcode or a city and the name's first letters,
    or a street and its city or postcode. A true duplicate with a typo in its name, a new
    address and no tax ID is not compared: the price of keeping a million parties
    tractable."""
    return [
        block_on("tax_id"),
        block_on("name"),
        block_on("postcode", "substr(name, 1, 3)"),
        block_on("city", "street", "house_number"),
        block_on("postcode", "street"),
        block_on("city", "substr(name, 1, 4)"),
    ]


def person_settings(link_type: str = "dedupe_only") -> SettingsCreator:
    """Build the person comparison set (the FEBRL fields), untrained."""
    return SettingsCreator(
        link_type=link_type,  # type: ignore[arg-type]
        comparisons=[
            _name_comparison("given_name", "surname"),
            _name_comparison("surname", "given_name"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.LevenshteinAtThresholds("street_number", [1]),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=person_blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def person_blocking_rules() -> list[Any]:
    return [
        block_on("given_name", "surname"),
        # The given name and the surname entered in each other's field.
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("surname", "date_of_birth"),
        block_on("given_name", "date_of_birth"),
        block_on("soc_sec_id"),
        block_on("postcode", "street_number"),
        block_on("date_of_birth", "postcode"),
        block_on("given_name", "postcode"),
        block_on("surname", "postcode"),
        block_on("surname", "suburb"),
        block_on("given_name", "suburb"),
        block_on("address_1", "street_number"),
    ]


def _name_comparison(column: str, other: str) -> Any:
    """A name compared with the same field, and with the other name field of the other
    record, because a given name entered as the surname still identifies the person."""
    reversed_sql = f"jaro_winkler_similarity({column}_l, {other}_r) >= 0.9"
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column),
            cll.JaroWinklerLevel(column, 0.92),
            cll.CustomLevel(
                reversed_sql,
                label_for_charts=f"{column} in the {other} field",
                base_dialect_str="duckdb",
            ),
            cll.JaroWinklerLevel(column, 0.88),
            cll.JaroWinklerLevel(column, 0.7),
            cll.ElseLevel(),
        ],
    )
