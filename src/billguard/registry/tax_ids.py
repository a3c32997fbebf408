"""Tax ID validation per country with python-stdnum (format and check digits)."""

from __future__ import annotations

from dataclasses import dataclass

from stdnum import get_cc_module
from stdnum.exceptions import ValidationError


@dataclass(frozen=True)
class TaxIdCheck:
    """The verdict on one tax ID: ``normalized`` is the compact form when it is valid."""

    value: str
    country: str
    valid: bool
    normalized: str
    error: str = ""


# The python-stdnum module that validates a business tax ID in each country: the VAT number
# in the EU and most of Europe, the EIN in the United States, the ABN in Australia.
_MODULE_NAMES = {"US": "ein", "AU": "abn", "CA": "bn", "IN": "gstin", "JP": "cn"}


def validate_tax_id(value: str, country: str) -> TaxIdCheck:
    """Validate ``value`` by the rules of ``country`` (ISO 3166-1 alpha-2).

    An EU VAT number may carry its country prefix (``DE123456788``) or not. A country that
    python-stdnum does not cover is reported invalid with the reason, never silently accepted.
    """
    country = country.upper()
    module_name = _MODULE_NAMES.get(country, "vat")
    # Greece's VAT numbers use the prefix EL, which python-stdnum files under "gr".
    module = get_cc_module("gr" if country == "EL" else country.lower(), module_name)
    if module is None:
        return TaxIdCheck(
            value, country, False, "", f"no tax ID rule is known for country {country}"
        )
    try:
        compact = module.validate(value)
    except ValidationError as error:
        return TaxIdCheck(value, country, False, "", str(error) or type(error).__name__)
    if module_name == "vat":
        prefix = "EL" if country == "GR" else country
        if not compact.upper().startswith(prefix):
            compact = prefix + compact
    return TaxIdCheck(value, country, True, compact)


def normalize_tax_id(value: str) -> str:
    """Compact form for comparison: capitals, no spaces, dots, dashes or slashes."""
    return "".join(ch for ch in value.upper() if ch.isalnum())
