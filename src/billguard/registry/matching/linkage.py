"""Score record pairs with a trained splink model on an in-process DuckDB database."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import duckdb
import pandas as pd

logger = logging.getLogger(__name__)

COMPANY_MODEL = "company_model.json"
PERSON_MODEL = "person_model.json"

# The match probability from which a pair is reported: one value for every data set, people
# and companies alike. It was chosen on the training data (FEBRL 2, the training companies),
# where F1 is at its highest from 0.5 to 0.7: the highest of those, to report fewer pairs.
DEFAULT_THRESHOLD = 0.7


_BELOW_ONE = 0.999999


@dataclass(frozen=True)
class ScoredPair:
    left_id: int
    right_id: int
    probability: float
    # The match weight of each comparison (log2 of m/u): positive where the field agrees,
    # negative where it differs, 0 where a value is missing.
    weights: tuple[tuple[str, float], ...]


@cache
def model_settings(model_file: str) -> dict[str, Any]:
    """Load the settings of a trained model shipped in this package, m and u values included."""
    text = resources.files("billguard.registry.matching").joinpath(model_file).read_text()
    settings: dict[str, Any] = json.loads(text)
    return settings


def score(
    frames: list[pd.DataFrame],
    *,
    model_file: str,
    threshold: float,
    link_type: str = "dedupe_only",
    threads: int | None = None,
) -> list[ScoredPair]:
    """Return the pairs of records in ``frames`` whose match probability is at least
    ``threshold``.

    One frame is deduplicated; two frames are linked (``link_type="link_only"``). Each frame
    has a ``unique_id`` column and the columns the model compares, with None where a value is
    missing. The model's parameters are fixed, so the same input gives the same pairs.
    """
    from splink import DuckDBAPI, Linker

    if not any(len(frame) for frame in frames):
        return []
    settings = dict(model_settings(model_file))
    settings["link_type"] = link_type
    # The match weight of each comparison shows which fields agreed, for the reasons.
    settings["retain_intermediate_calculation_columns"] = True
    connection = duckdb.connect(":memory:")
    if threads is not None:
        connection.execute(f"SET threads TO {int(threads)}")
    try:
        db_api = DuckDBAPI(connection=connection)
        tables = [
            db_api.register(frame, table_name=f"records_{index}")
            for index, frame in enumerate(frames)
        ]
        linker = Linker(tables if len(tables) > 1 else tables[0], settings, log_level=None)
        # splink turns the probability into a match weight, which is infinite at 1: below 1
        # it filters in the database, and the exact threshold is applied here.
        predictions = linker.inference.predict(
            threshold_match_probability=min(threshold, _BELOW_ONE), warning_mode="never"
        )
        result = predictions.as_pandas_dataframe()
        result = result[result["match_probability"] >= threshold]
    finally:
        connection.close()
    logger.info(
        "scored %d records with %s: %d pairs at match probability >= %s",
        sum(len(frame) for frame in frames),
        model_file,
        len(result),
        threshold,
    )
    return _pairs(result, settings)


def _pairs(result: pd.DataFrame, settings: dict[str, Any]) -> list[ScoredPair]:
    names = [comparison["output_column_name"] for comparison in settings["comparisons"]]
    pairs = []
    for row in result.to_dict("records"):
        weights = tuple((name, float(row[f"mw_{name}"])) for name in names if f"mw_{name}" in row)
        pairs.append(
            ScoredPair(
                int(row["unique_id_l"]),
                int(row["unique_id_r"]),
                float(row["match_probability"]),
                weights,
            )
        )
    return pairs


def model_for_dialect(model_file: str, dialect: str) -> dict[str, Any]:
    """Return the shipped model as splink settings for another SQL backend (``"spark"``):
    the comparison set written in that backend's SQL, with the shipped m and u values.

    The model files contain DuckDB SQL. splink translates the comparison set to the other
    dialect, and the trained values are copied level by level.
    """
    from billguard.registry.matching.comparisons import company_settings, person_settings

    shipped = model_settings(model_file)
    creator = company_settings() if model_file == COMPANY_MODEL else person_settings()
    settings: dict[str, Any] = creator.get_settings(dialect).as_dict()
    settings["probability_two_random_records_match"] = shipped[
        "probability_two_random_records_match"
    ]
    for comparison, trained in zip(settings["comparisons"], shipped["comparisons"], strict=True):
        for level, trained_level in zip(
            comparison["comparison_levels"], trained["comparison_levels"], strict=True
        ):
            for key in ("m_probability", "u_probability"):
                if key in trained_level:
                    level[key] = trained_level[key]
    return settings
