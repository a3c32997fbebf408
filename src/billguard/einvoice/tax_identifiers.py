"""Tell a VAT identifier from other tax IDs, as EN 16931 rule BR-CO-09 does.

BR-CO-09 requires the seller VAT identifier (BT-31), the seller tax representative VAT
identifier (BT-63) and the buyer VAT identifier (BT-48) to start with a country prefix. A tax
ID without one, such as the US EIN 12-0374943, is written elsewhere by the UBL writer.
"""

from __future__ import annotations

import re

# The prefixes that BR-CO-09 accepts in the CEN validation rules that validation.py runs: the
# ISO 3166-1 alpha-2 codes, EL for Greece, XI for Northern Ireland and 1A for Kosovo.
VAT_PREFIXES = frozenset(
    """
    1A AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK
    DM DO DZ EC EE EG EH EL ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ
    GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI
    KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
    MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK
    PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS
    ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE
    VG VI VN VU WF WS XI YE YT ZA ZM ZW
    """.split()
)

# Characters that tax IDs are often written with between their groups of digits.
_SEPARATORS = " .-/"
_DIGIT_OR_CAPITAL = re.compile("[0-9A-Z]")


def is_vat_identifier(tax_id: str) -> bool:
    """Return whether ``tax_id`` is a VAT identifier: a BR-CO-09 country prefix, then a digit
    or capital letter (DE123456789, NL8200.98.395.B.01, EL 094259216).

    BR-CO-09 compares the first two characters as written, so ``de123456789`` is not one.
    """
    text = tax_id.strip()
    rest = "".join(character for character in text[2:] if character not in _SEPARATORS)
    return text[:2] in VAT_PREFIXES and _DIGIT_OR_CAPITAL.match(rest) is not None
