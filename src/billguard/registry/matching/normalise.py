"""The normalised columns that the company comparisons read.

Two records of one company differ in ways that tell nothing about identity: the legal form
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
    house_number: str
    city: str
    postcode: str
    tax_id: str
    country: str


def company_columns(
    *, name: str, street: str, city: str, postcode: str, tax_id: str, country: str
) -> CompanyColumns:
    country_code = country.strip().upper()[:2]
    words = [_STREET_WORDS.get(word, word) for word in _words(street)]
    return CompanyColumns(
        name=normalise_company_name(name),
        street=" ".join(sorted(word for word in words if not _has_digit(word))),
        house_number=" ".join(sorted(word for word in words if _has_digit(word))),
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
    # A legal form mistyped at the end of the name ("Incorpoiated", "GmH") is dropped too.
    if len(words) > 1 and len(words[-1]) >= 3 and _near_legal_form(words[-1]):
        words = words[:-1]
    kept = [word for word in words if word not in _LEGAL_FORMS and word != "the"]
    # An "and" left at the end by a removed legal form ("Ember GmbH & Co. KG") is noise.
    while kept and kept[-1] == "and":
        kept.pop()
    # A name that is only a legal form ("Co.") keeps it rather than become empty.
    return " ".join(kept or words)


def normalise_street(street: str) -> str:
    """The street's words in sorted order, abbreviations written out, so that "12 Main St"
    and "Main Street 12" are the same: '12 main street'. The matcher compares the house
    number apart (CompanyColumns.house_number)."""
    return " ".join(sorted(_STREET_WORDS.get(word, word) for word in _words(street)))


def normalise_postcode(postcode: str) -> str:
    return "".join(ch for ch in postcode.upper() if ch.isalnum())


def normalise_tax_id(tax_id: str, country: str) -> str:
    """Return the compact tax ID without the country prefix of a VAT number: 'DE 136 695 976' and
    '136695976' (country DE) are both '136695976'."""
    compact = normalize_tax_id(tax_id)
    # Greek VAT numbers carry EL, not GR (EU VAT Directive 2006/112/EC, article 215).
    for prefix in {country, "EL" if country == "GR" else country}:
        if prefix and compact.startswith(prefix) and len(compact) > len(prefix) + 1:
            return compact[len(prefix) :]
    return compact


def _near_legal_form(word: str) -> bool:
    return any(_one_edit_apart(word, form) for form in _LEGAL_FORMS if len(form) > 2)


def _one_edit_apart(a: str, b: str) -> bool:
    """True when one insertion, deletion, substitution or swap of neighbours turns ``a``
    into ``b`` (Damerau-Levenshtein distance 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        first, second = diffs[0], diffs[-1]
        swapped = a[first] == b[second] and a[second] == b[first]
        return len(diffs) == 2 and second == first + 1 and swapped
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _has_digit(word: str) -> bool:
    return any(ch.isdigit() for ch in word)


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return _WORD.findall(folded.encode("ascii", "ignore").decode().lower())
