"""The normalised columns that the company comparisons read.

Two records of one company differ in ways that say nothing about identity: the legal form
written out or abbreviated ("Ltd" and "Limited"), "&" or "and", capitals and punctuation, the
house number before or after the street, "St" or "Street", a postcode with or without its
space, a VAT number with or without its country prefix. These functions remove those
differences, so that what the model compares is what tells two companies apart.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from billguard.registry.tax_ids import normalize_tax_id

# Legal forms, each abbreviation and its written-out form mapped to one word, which is then
# dropped from the name: "Acme Incorporated" and "ACME, Inc." are both "acme".
_LEGAL_FORMS = {
    "inc": "inc",
    "incorporated": "inc",
    "llc": "llc",
    "ltd": "ltd",
    "limited": "ltd",
    "gmbh": "gmbh",
    "mbh": "gmbh",
    "ag": "ag",
    "sa": "sa",
    "sarl": "sarl",
    "sas": "sas",
    "bv": "bv",
    "nv": "nv",
    "plc": "plc",
    "co": "co",
    "company": "co",
    "corp": "corp",
    "corporation": "corp",
    "kg": "kg",
    "oy": "oy",
    "ab": "ab",
    "as": "as",
    "spa": "spa",
    "srl": "srl",
    "pty": "pty",
    "lp": "lp",
    "llp": "llp",
}

# Words of company names written in more than one way, mapped to one spelling.
_NAME_WORDS = {
    "and": "and",
    "intl": "international",
    "int": "international",
    "mfg": "manufacturing",
    "svcs": "services",
    "svc": "services",
    "tech": "technologies",
    "technology": "technologies",
    "sys": "systems",
    "grp": "group",
    "hldgs": "holdings",
    "hldg": "holdings",
    "holding": "holdings",
    "assoc": "associates",
    "bros": "brothers",
    "natl": "national",
    "ind": "industries",
    "inds": "industries",
    "labs": "laboratories",
    "lab": "laboratories",
    "mgmt": "management",
    "dev": "development",
    "sol": "solutions",
}

# Street words, abbreviated or not, in several languages.
_STREET_WORDS = {
    "st": "street",
    "str": "strasse",
    "strasse": "strasse",
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "blvd": "boulevard",
    "dr": "drive",
    "ln": "lane",
    "ct": "court",
    "pl": "place",
    "sq": "square",
    "hwy": "highway",
    "pkwy": "parkway",
    "ste": "suite",
    "fl": "floor",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
}

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class CompanyColumns:
    """The normalised form of one company record, as the comparisons read it."""

    name: str
    street: str
    city: str
    postcode: str
    tax_id: str
    country: str


def company_columns(
    *, name: str, street: str, city: str, postcode: str, tax_id: str, country: str
) -> CompanyColumns:
    country_code = country.strip().upper()[:2]
    return CompanyColumns(
        name=normalise_company_name(name),
        street=normalise_street(street),
        city=" ".join(_words(city)),
        postcode=normalise_postcode(postcode),
        tax_id=normalise_tax_id(tax_id, country_code),
        country=country_code,
    )


def normalise_company_name(name: str) -> str:
    """Lower-case words without punctuation, legal forms or the word "the", abbreviations
    written out: 'The Acme Intl. Co., Ltd' -> 'acme international'."""
    # Dots go first, so that "S.A.R.L." is the word "sarl" and "Intl." is "intl".
    spaced = name.replace(".", "").replace("&", " and ")
    words = [_NAME_WORDS.get(word, word) for word in _words(spaced)]
    kept = [word for word in words if word not in _LEGAL_FORMS and word != "the"]
    # A name that is only a legal form ("Co.") keeps it rather than become empty.
    return " ".join(kept or words)


def normalise_street(street: str) -> str:
    """The street's words in sorted order, abbreviations written out, so that "12 Main St"
    and "Main Street 12" are the same: '12 main street'."""
    return " ".join(sorted(_STREET_WORDS.get(word, word) for word in _words(street)))


def normalise_postcode(postcode: str) -> str:
    return "".join(ch for ch in postcode.upper() if ch.isalnum())


def normalise_tax_id(tax_id: str, country: str) -> str:
    """The compact tax ID without the country prefix of a VAT number: 'DE 136 695 976' and
    '136695976' (country DE) are both '136695976'."""
    compact = normalize_tax_id(tax_id)
    # Greek VAT numbers carry EL, not GR (EU VAT Directive 2006/112/EC, article 215).
    for prefix in {country, "EL" if country == "GR" else country}:
        if prefix and compact.startswith(prefix) and len(compact) > len(prefix) + 1:
            return compact[len(prefix) :]
    return compact


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return _WORD.findall(folded.encode("ascii", "ignore").decode().lower())
