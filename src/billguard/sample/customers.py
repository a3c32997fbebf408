"""Customers of the sample company: unique names and tax IDs, addresses per country."""

from __future__ import annotations

import random
import re
from decimal import Decimal

from billguard.sample import reference_data as ref
from billguard.sample.plans import BillToPlan, CustomerPlan
from billguard.sample.tax_ids import random_tax_id

EU_COUNTRIES = ("AT", "FR", "NL", "BE", "IT")


class CustomerPlanner:
    """Source of customers whose names, tax IDs and PO numbers are unique in the company."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._names: set[str] = set()
        self._tax_ids: set[str] = set()
        self._purchase_orders: set[str] = set()

    def customer(
        self, market: str, country: str | None = None, *, bill_tos: int = 1, dedicated: bool = False
    ) -> CustomerPlan:
        """Plan a customer served by the seller entity of ``market`` (de or us)."""
        rng = self.rng
        if country is None:
            country = "US" if market == "us" else rng.choice(("DE",) * 6 + EU_COUNTRIES)
        name = self._unique_name(country)
        tax_id = self.unique_tax_id(country)
        places, timezone, sales_tax = self._places(country, bill_tos)

        slug = _slug(name)
        bill_to_plans = []
        for index, (city, postcode, streets, subdivision) in enumerate(places):
            suffix = "" if index == 0 else f" ({city}, accounts payable {index + 1})"
            mailbox = "ap" if index == 0 else f"finance-{index}"
            bill_to_plans.append(
                BillToPlan(
                    name=name + suffix,
                    street=f"{rng.choice(streets)} {rng.randint(1, 180)}",
                    city=city,
                    postcode=postcode,
                    country=country,
                    subdivision=subdivision,
                    tax_id=tax_id,
                    contact_name=rng.choice(ref.PERSON_NAMES),
                    contact_email=f"{mailbox}@{slug}.example",
                )
            )
        return CustomerPlan(
            name=name,
            country=country,
            market=market,
            tax_id=tax_id,
            postcode=bill_to_plans[0].postcode,
            timezone=timezone,
            bill_tos=bill_to_plans,
            sales_tax_rate=sales_tax,
            dedicated=dedicated,
        )

    def _places(
        self, country: str, count: int
    ) -> tuple[list[tuple[str, str, tuple[str, ...], str]], str, Decimal | None]:
        """Draw ``count`` addresses (city, postcode, street names, subdivision) in ``country``.

        Returns them with the customer's time zone and, in the US, its sales tax rate. A US
        customer's second bill-to is in the same city, so one sales tax applies to both.
        """
        rng = self.rng
        places: list[tuple[str, str, tuple[str, ...], str]] = []
        if country == "US":
            city, state, zip_base, streets, timezone, sales_tax = rng.choice(ref.US_CITIES)
            for _ in range(count):
                places.append((city, f"{zip_base + rng.randint(0, 40):05d}", streets, state))
            return places, timezone, sales_tax

        width = 4 if country in ("AT", "NL", "BE") else 5
        for _ in range(count):
            city, postcode_base, streets = rng.choice(ref.CITIES[country])
            postcode = f"{postcode_base + rng.randint(0, 80):0{width}d}"
            places.append((city, postcode, streets, ""))
        return places, "Europe/Berlin", None

    def _unique_name(self, country: str) -> str:
        while True:
            stem = self.rng.choice(ref.NAME_STEMS)
            trade = self.rng.choice(ref.NAME_TRADES)
            form = self.rng.choice(ref.LEGAL_FORMS[country])
            key = f"{stem} {trade}".lower()
            if key not in self._names:
                self._names.add(key)
                return f"{stem} {trade} {form}"

    def unique_tax_id(self, country: str) -> str:
        while True:
            tax_id = random_tax_id(self.rng, country)
            if tax_id not in self._tax_ids:
                self._tax_ids.add(tax_id)
                return tax_id

    def purchase_order_number(self, market: str) -> str:
        while True:
            if market == "us":
                number = f"4500{self.rng.randint(100000, 999999)}"
            else:
                number = f"PO-{self.rng.randint(2026000, 2026999)}"
            if number not in self._purchase_orders:
                self._purchase_orders.add(number)
                return number


def _slug(name: str) -> str:
    words = re.findall(r"[a-z0-9]+", name.lower())
    return "-".join(words[:2])
