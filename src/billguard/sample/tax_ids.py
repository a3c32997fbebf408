"""Valid business tax IDs for sample customers, drawn from a seeded PRNG.

Each number gets random digits, then the check digits that make python-stdnum accept it, found
by trying the candidates in order. ``registry.tax_ids.validate_tax_id`` decides, so every ID
passes the validation that the registry applies.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

from stdnum import luhn

from billguard.registry.tax_ids import validate_tax_id

# EIN prefixes from the IRS list of valid prefixes, which python-stdnum ships as us/ein.dat.
_EIN_PREFIXES = ("04", "12", "20", "27", "30", "46", "52", "61", "81", "95")


def random_tax_id(rng: random.Random, country: str) -> str:
    """Return a tax ID of ``country`` with valid check digits, in its usual written form."""
    builder = _BUILDERS.get(country)
    if builder is None:
        raise ValueError(f"no sample tax ID rule for country {country}")
    return builder(rng)


def invalid_variant(tax_id: str, country: str) -> str:
    """Return ``tax_id`` with its last digit changed so that the check digits no longer match.

    Raises ValueError for a number without check digits, such as a US EIN.
    """
    head, last = tax_id[:-1], tax_id[-1]
    for step in range(1, 10):
        candidate = head + str((int(last) + step) % 10)
        if not validate_tax_id(candidate, country).valid:
            return candidate
    raise ValueError(f"every variant of {tax_id} is valid")


def _digits(rng: random.Random, count: int, *, first_nonzero: bool = True) -> str:
    first = str(rng.randint(1, 9)) if first_nonzero else str(rng.randint(0, 9))
    return first + "".join(str(rng.randint(0, 9)) for _ in range(count - 1))


def _first_valid(candidates: Iterable[str], country: str) -> str | None:
    for candidate in candidates:
        if validate_tax_id(candidate, country).valid:
            return candidate
    return None


def _search(rng: random.Random, country: str, make: Callable[[random.Random], list[str]]) -> str:
    """Draw bodies with ``make`` until one of its check-digit candidates is valid."""
    while True:
        found = _first_valid(make(rng), country)
        if found is not None:
            return found


def _germany(rng: random.Random) -> str:
    body = _digits(rng, 8)
    return _search(rng, "DE", lambda _: [f"DE{body}{d}" for d in range(10)])


def _austria(rng: random.Random) -> str:
    body = _digits(rng, 7)
    return _search(rng, "AT", lambda _: [f"ATU{body}{d}" for d in range(10)])


def _france(rng: random.Random) -> str:
    # The SIREN inside a French VAT number ends in a Luhn check digit of its own.
    body = _digits(rng, 8)
    siren = body + luhn.calc_check_digit(body)
    return _search(rng, "FR", lambda _: [f"FR{key:02d}{siren}" for key in range(100)])


def _netherlands(rng: random.Random) -> str:
    def candidates(inner: random.Random) -> list[str]:
        body = _digits(inner, 8)
        return [f"NL{body}{d}B01" for d in range(10)]

    return _search(rng, "NL", candidates)


def _belgium(rng: random.Random) -> str:
    def candidates(inner: random.Random) -> list[str]:
        body = "0" + _digits(inner, 7)
        return [f"BE{body}{check:02d}" for check in range(100)]

    return _search(rng, "BE", candidates)


def _italy(rng: random.Random) -> str:
    def candidates(inner: random.Random) -> list[str]:
        body = _digits(inner, 7) + f"{inner.randint(1, 100):03d}"
        return [f"IT{body}{d}" for d in range(10)]

    return _search(rng, "IT", candidates)


def _united_states(rng: random.Random) -> str:
    prefix = rng.choice(_EIN_PREFIXES)
    return _search(rng, "US", lambda inner: [f"{prefix}-{_digits(inner, 7, first_nonzero=False)}"])


_BUILDERS: dict[str, Callable[[random.Random], str]] = {
    "DE": _germany,
    "AT": _austria,
    "FR": _france,
    "NL": _netherlands,
    "BE": _belgium,
    "IT": _italy,
    "US": _united_states,
}
