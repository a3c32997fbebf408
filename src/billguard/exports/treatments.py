"""Tax treatment keys: the text that names a tax treatment in a mapping and in an error.

A treatment is a UNCL 5305 VAT category with its rate (``S:19``, ``AE:0``), a category
without a rate (``O``), or a US sales tax jurisdiction (``US-TX``). The key ``none`` stands for
the journal lines that carry no tax.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from billguard.domain.errors import InvalidInput
from billguard.domain.tax import TaxCategory, parse_tax_category

UNTAXED = "none"
_JURISDICTION = re.compile(r"^US-[A-Z]{2}$")
TREATMENT_FORMS = (
    "S:19 (category and rate), O (category without a rate), US-TX (US sales tax) or none"
)


def treatment_key(category: str, rate: Decimal | None, jurisdiction: str = "") -> str:
    """Return the key of a tax line: the US jurisdiction when a sales tax (category S) has
    one, else the category and its rate."""
    category = category.strip().upper()
    jurisdiction = jurisdiction.strip().upper()
    if category == TaxCategory.STANDARD.value and _JURISDICTION.match(jurisdiction):
        return jurisdiction
    if rate is None:
        return category
    return f"{category}:{_rate_text(rate)}"


def parse_treatment(text: str, *, place: str) -> str:
    """Return the key of a treatment as typed (``s:19.00``, ``us-tx``).

    Raises InvalidInput for an unknown category or a rate outside 0 to 100.
    """
    cleaned = text.strip()
    if cleaned.lower() == UNTAXED:
        return UNTAXED
    upper = cleaned.upper()
    if _JURISDICTION.match(upper):
        return upper
    category_text, _, rate_text = cleaned.partition(":")
    category = parse_tax_category(category_text, place=place)
    rate_text = rate_text.strip()
    if not rate_text:
        return category.value
    try:
        rate = Decimal(rate_text)
    except InvalidOperation:
        rate = Decimal("NaN")
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise InvalidInput(
            f"{rate_text!r} in tax treatment {text!r} is not a rate between 0 and 100.",
            place=place,
            value=text,
            fix=f"Write the treatment as {TREATMENT_FORMS}.",
        )
    return f"{category.value}:{_rate_text(rate)}"


def describe_treatment(key: str) -> str:
    """Return the treatment in words, for lists and errors."""
    if key == UNTAXED:
        return "lines without tax (receivable and revenue)"
    if _JURISDICTION.match(key):
        return f"US sales tax of jurisdiction {key}"
    category, _, rate = key.partition(":")
    return f"VAT category {category} at {rate} %" if rate else f"VAT category {category}"


def _rate_text(rate: Decimal) -> str:
    return f"{rate.normalize():f}"
