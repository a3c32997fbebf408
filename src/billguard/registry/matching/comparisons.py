"""The two comparison sets of the matcher, and the blocking rules that keep them tractable.

A comparison set says, field by field, how alike two records are (the same value, a small
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
COMPANY_COLUMNS = ("name", "street", "city", "postcode", "tax_id", "country")

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
    """The company comparison set, untrained: the model file holds its m and u values."""
    return SettingsCreator(
        link_type=link_type,  # type: ignore[arg-type]
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.75]),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.75]),
            cl.JaroWinklerAtThresholds("city", [0.9]),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.LevenshteinAtThresholds("tax_id", [1]),
            cl.ExactMatch("country"),
        ],
        blocking_rules_to_generate_predictions=company_blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def company_blocking_rules() -> list[Any]:
    """Pairs that share a tax ID, a name, a postcode or a city and the name's first letters,
    or a street and its city or postcode. A true duplicate with a typo in its name and a new address, and no tax ID,
    is not compared: the price of keeping a million parties tractable."""
    return [
        block_on("tax_id"),
        block_on("name"),
        block_on("postcode", "substr(name, 1, 3)"),
        block_on("city", "street"),
        block_on("postcode", "street"),
        block_on("city", "substr(name, 1, 4)"),
    ]


def person_settings(link_type: str = "dedupe_only") -> SettingsCreator:
    """The person comparison set (the FEBRL fields), untrained."""
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
    record: a given name entered as the surname still tells who the person is."""
    reversed_sql = f'jaro_winkler_similarity("{column}_l", "{other}_r") >= 0.9'
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column),
            cll.JaroWinklerLevel(column, 0.92),
            cll.CustomLevel(reversed_sql, label_for_charts=f"{column} in the {other} field"),
            cll.JaroWinklerLevel(column, 0.88),
            cll.JaroWinklerLevel(column, 0.7),
            cll.ElseLevel(),
        ],
    )
