"""ISO 4217 currency codes and their minor units (decimals of the smallest coin)."""

from __future__ import annotations

from billguard.domain.errors import InvalidInput

# Minor units per ISO 4217 (list one, current currencies). Most currencies have 2 decimals;
# these are the exceptions.
_ZERO_DECIMALS = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()
)
_THREE_DECIMALS = frozenset("BHD IQD JOD KWD LYD OMR TND".split())
_FOUR_DECIMALS = frozenset("CLF UYW".split())

# Checked against list one as published on 2026-01-01. Codes without a minor unit in that list
# are not money that an invoice can be in, so they are left out: the metals XAU, XAG, XPD and
# XPT, the units XDR, XSU, XUA and XBA to XBD, and the codes XTS and XXX. ANG and BGN are no
# longer in that list (replaced by XCG and EUR) but stay, because older invoices and their
# credit notes are in them.

_TWO_DECIMALS = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
    BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD
    KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
    NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
    SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED
    VES WST XAD XCD XCG YER ZAR ZMW ZWG
    """.split()
)

_MINOR_UNITS: dict[str, int] = {
    **{code: 2 for code in _TWO_DECIMALS},
    **{code: 0 for code in _ZERO_DECIMALS},
    **{code: 3 for code in _THREE_DECIMALS},
    **{code: 4 for code in _FOUR_DECIMALS},
}


def validate_currency(code: object, *, place: str = "currency") -> str:
    """Return ``code`` if it is an ISO 4217 code in use; raise InvalidInput otherwise."""
    if not isinstance(code, str) or code not in _MINOR_UNITS:
        raise InvalidInput(
            f"{code!r} is not an ISO 4217 currency code.",
            place=place,
            value=code,
            fix="Use a three-letter code in capitals, such as EUR, USD or JPY.",
        )
    return code


def minor_units(code: str) -> int:
    """Return the number of decimals of ``code`` (ISO 4217: JPY 0, EUR 2, BHD 3)."""
    return _MINOR_UNITS[validate_currency(code)]


def is_currency(code: object) -> bool:
    return isinstance(code, str) and code in _MINOR_UNITS
