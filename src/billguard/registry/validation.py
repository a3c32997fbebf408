"""Small validators of registry input; each raises InvalidInput naming the field and the fix."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from billguard.domain.errors import InvalidInput

# ISO 3166-1 alpha-2 codes, and EL which EN 16931 uses for Greece's VAT prefix.
_COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
    """.split()
)


def require_text(value: str, *, field: str) -> str:
    if not value or not value.strip():
        raise InvalidInput(f"{field} is empty.", place=field, fix=f"Enter a {field}.")
    return value.strip()


def require_country(value: str, *, field: str) -> str:
    code = (value or "").strip().upper()
    if code not in _COUNTRIES:
        raise InvalidInput(
            f"{value!r} is not an ISO 3166-1 country code.",
            place=field,
            value=value,
            fix="Use the two-letter code, such as DE, GB or US.",
        )
    return code


def require_timezone(value: str, *, field: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        raise InvalidInput(
            f"{value!r} is not a time zone name.",
            place=field,
            value=value,
            fix="Use an IANA name such as Europe/Berlin or America/New_York.",
        ) from None
    return value


def require_positive(value: Decimal | None, *, field: str, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(
            f"{field} must be {'zero or more' if allow_zero else 'more than zero'}, not {value}.",
            place=field,
            value=value,
        )


def require_billing_day(value: int | None, *, field: str = "billing_day") -> None:
    if value is not None and not 1 <= value <= 31:
        raise InvalidInput(
            f"billing day {value} is outside 1 to 31.",
            place=field,
            value=value,
            fix="Use the day of the month; 29 to 31 bill on the last day of shorter months.",
        )


def require_order(start: dt.date, end: dt.date | None, *, field: str) -> None:
    if end is not None and end < start:
        raise InvalidInput(
            f"{field} ends on {end}, before it starts on {start}.",
            place=field,
            value=end,
        )
