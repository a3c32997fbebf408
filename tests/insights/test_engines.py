"""The DuckDB ``div`` macro of the audit engine against Python's exact integer division."""

from __future__ import annotations

import random

import duckdb
import pytest

from billguard.insights.engines import DIV_MACRO

# Divisors the audit uses: constants, 2 x 10^16 x days in a billing period, index values.
DIVISORS = [1, 2, 3, 7, 12, 10**8, 2 * 10**16 * 31, 2 * 10**16 * 366, 98_765_432_100]


@pytest.fixture(scope="module")
def database() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    connection.execute(DIV_MACRO)
    return connection


def dividends(divisor: int, generator: random.Random) -> list[int]:
    """Return dividends whose quotient is 0, small, near 10^15 (where the macro switches to
    exact division) or beyond, each with remainders 0, 1, divisor - 1 and a random one."""
    quotients = [0, 1, 2, 999, 10**15 - 1, 10**15, 10**15 + 1, 2**53 + 1, 10**20]
    quotients += [generator.randrange(10**15) for _ in range(20)]
    remainders = [0, 1, divisor - 1, generator.randrange(divisor)]
    return [q * divisor + r for q in quotients for r in remainders if q * divisor + r < 2**126]


@pytest.mark.parametrize("divisor", DIVISORS)
def test_div_macro_matches_floor_division(
    database: duckdb.DuckDBPyConnection, divisor: int
) -> None:
    generator = random.Random(divisor)
    for dividend in dividends(divisor, generator):
        row = database.execute(
            "SELECT CAST(div(CAST(? AS HUGEINT), CAST(? AS HUGEINT)) AS VARCHAR)",
            [str(dividend), str(divisor)],
        ).fetchone()
        assert row is not None
        assert int(row[0]) == dividend // divisor, f"{dividend} // {divisor}"


def test_div_macro_on_integers(database: duckdb.DuckDBPyConnection) -> None:
    row = database.execute("SELECT div(24319, 12), div(0, 12), div(11, 12)").fetchone()

    assert row == (2026, 0, 0)
