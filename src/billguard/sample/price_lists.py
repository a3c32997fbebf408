"""The usage products of the sample price lists and their prices from each change date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

PRICE_LIST_CODE = {"de": "PL-EUR-STD", "us": "PL-USD-STD"}
# The price lists change on these days; a price is valid up to, not including, the next one.
PRICE_LIST_CHANGES = (dt.date(2025, 1, 1), dt.date(2026, 7, 1), dt.date(2027, 1, 1))


@dataclass(frozen=True)
class UsageProduct:
    """A product billed by usage; the prices line up with PRICE_LIST_CHANGES."""

    code: str
    description: str
    unit_code: str  # UN/ECE Recommendation 20
    reading_range: tuple[int, int]  # quantity of one usage record
    eur_prices: tuple[str, str, str]
    usd_prices: tuple[str, str, str]

    def price_on(self, market: str, day: dt.date) -> Decimal:
        prices = self.eur_prices if market == "de" else self.usd_prices
        index = max(i for i, change in enumerate(PRICE_LIST_CHANGES) if change <= day)
        return Decimal(prices[index])


USAGE_PRODUCTS = (
    UsageProduct(
        "API-1K", "API calls, per 1,000", "T3", (500, 3000),
        ("0.80", "0.86", "0.92"), ("0.90", "0.95", "1.00"),
    ),
    UsageProduct(
        "STORAGE-GB", "Object storage, per GB-month", "E34", (2000, 9000),
        ("0.12", "0.13", "0.13"), ("0.14", "0.15", "0.16"),
    ),
    UsageProduct(
        "SMS", "Text messages sent", "C62", (3000, 20000),
        ("0.070", "0.072", "0.075"), ("0.0075", "0.0079", "0.0080"),
    ),
)  # fmt: skip


def price_list_items(market: str) -> list[tuple[str, Decimal, dt.date, dt.date | None]]:
    """Return the items of a market's price list: product, unit price, valid from, valid to."""
    items = []
    for product in USAGE_PRODUCTS:
        for index, valid_from in enumerate(PRICE_LIST_CHANGES):
            following = PRICE_LIST_CHANGES[index + 1 :]
            valid_to = following[0] if following else None
            items.append((product.code, product.price_on(market, valid_from), valid_from, valid_to))
    return items
