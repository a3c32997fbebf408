"""Generated company records with known duplicates, to train and benchmark the company model.

Each company is entered once, and some are entered again the way people re-enter a customer.
The repeat has the legal form written out or abbreviated, "&" for "and", an abbreviated word,
the house number moved, the street type abbreviated, the postcode without its space, or the
tax ID with dots, without its country prefix or missing. Half of the repeats have a typo as
well, and one in ten is at a new address after a move. Different companies share cities,
streets, name words and legal forms, so that agreeing on one field is not proof. A fixed
seed gives the same records every time.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import combinations

_SYLLABLES = (
    "al ba be bri ca co da de el fa fer ga gi ha hel in jo ka ken la lin ma mar me mi "
    "mo na no or pa pe ra ri ro sa se so ta te tor ul va ve vi wes yo za ze"
).split()
_INDUSTRY = (
    "Services Systems Logistics Foods Media Consulting Software Engineering Analytics "
    "Pharma Retail Energy Capital Partners Labs Networks Designs Solutions Trading Works "
    "Manufacturing Holdings Group Technologies Associates Brothers International"
).split()
_LEGAL_FORMS = {
    "US": [("Inc", "Incorporated"), ("Corp", "Corporation"), ("LLC", "LLC"), ("Co", "Company")],
    "GB": [("Ltd", "Limited"), ("PLC", "plc"), ("LLP", "LLP")],
    "DE": [("GmbH", "G.m.b.H."), ("AG", "AG"), ("KG", "KG")],
    "FR": [("SAS", "S.A.S."), ("SARL", "S.A.R.L."), ("SA", "S.A.")],
}
_STREET_TYPES = {
    "US": [("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Boulevard", "Blvd")],
    "GB": [("Street", "St"), ("Road", "Rd"), ("Lane", "Ln"), ("Place", "Pl")],
    "DE": [("Strasse", "Str."), ("Weg", "Weg"), ("Allee", "Allee"), ("Platz", "Platz")],
    "FR": [("Rue", "Rue"), ("Avenue", "Av"), ("Boulevard", "Bd"), ("Place", "Pl")],
}
# Abbreviations that people type for words of company names.
_ABBREVIATIONS = {
    "International": "Intl",
    "Technologies": "Tech",
    "Manufacturing": "Mfg",
    "Services": "Svcs",
    "Holdings": "Hldgs",
    "Associates": "Assoc",
    "Brothers": "Bros",
    "Systems": "Sys",
    "Group": "Grp",
    "Laboratories": "Labs",
}
_COUNTRIES = ("US", "GB", "DE", "FR")
# The share of companies at the address of another: in the same building or business park,
# often a company of the same group, named after it.
NEIGHBOUR_SHARE = 0.15


@dataclass(frozen=True)
class CompanyRecord:
    record_id: int
    entity_id: int
    name: str
    street: str
    city: str
    postcode: str
    tax_id: str
    country: str


def generate_companies(
    entities: int, *, seed: int, duplicate_share: float = 0.3, first_id: int = 1
) -> list[CompanyRecord]:
    """``entities`` companies, of which ``duplicate_share`` are entered once to three times
    more with variations. Record ids are consecutive from ``first_id``."""
    rng = random.Random(seed)
    cities = [_city(rng, country) for country in _COUNTRIES for _ in range(60)]
    records: list[CompanyRecord] = []
    for entity_id in range(1, entities + 1):
        original = _company(rng, entity_id, len(records) + first_id, cities)
        if records and rng.random() < NEIGHBOUR_SHARE:
            original = _neighbour(rng, original, rng.choice(records))
        records.append(original)
        if rng.random() < duplicate_share:
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                records.append(_variant(rng, original, len(records) + first_id))
    return records


def true_pairs(records: list[CompanyRecord]) -> set[tuple[int, int]]:
    """Return the pairs of record ids (lower first) that are the same company."""
    by_entity: dict[int, list[int]] = {}
    for record in records:
        by_entity.setdefault(record.entity_id, []).append(record.record_id)
    return {
        (min(a, b), max(a, b))
        for ids in by_entity.values()
        if len(ids) > 1
        for a, b in combinations(ids, 2)
    }


def _company(
    rng: random.Random, entity_id: int, record_id: int, cities: list[tuple[str, str, str]]
) -> CompanyRecord:
    country, city, postcode_prefix = rng.choice(cities)
    words = [_word(rng, 3).title()]
    if rng.random() < 0.3:
        words.append(rng.choice(("&", "and")) + " " + _word(rng).title())
    words.append(rng.choice(_INDUSTRY))
    if rng.random() < 0.25:
        words.append(rng.choice(_INDUSTRY))
    legal_form = rng.choice(_LEGAL_FORMS[country])[0]
    street_type = rng.choice(_STREET_TYPES[country])[0]
    number = str(rng.randint(1, 250))
    street_name = _word(rng).title()
    if country in ("US", "GB"):
        street = f"{number} {street_name} {street_type}"
    elif country == "FR":
        street = f"{number} {street_type} {street_name}"
    elif street_type == "Strasse":
        street = f"{street_name}strasse {number}"
    else:
        street = f"{street_name} {street_type} {number}"
    return CompanyRecord(
        record_id=record_id,
        entity_id=entity_id,
        name=" ".join([*words, legal_form]),
        street=street,
        city=city,
        postcode=_postcode(rng, country, postcode_prefix),
        tax_id=_tax_id(entity_id, country) if rng.random() < 0.8 else "",
        country=country,
    )


def _neighbour(rng: random.Random, company: CompanyRecord, other: CompanyRecord) -> CompanyRecord:
    """``company`` moved to the street and postcode of ``other``, and half the time named
    after it: "Saffron Robotics" next to "Saffron Packaging"."""
    street = other.street
    if rng.random() < 0.5:
        number = str(rng.randint(1, 250))
        street = " ".join(number if word.isdigit() else word for word in street.split())
    name = company.name
    if rng.random() < 0.5:
        # A company of the same group: the group's first word and a line of business of its
        # own ("Saffron Robotics" next to "Saffron Packaging").
        taken = set(other.name.split())
        business = rng.choice([word for word in _INDUSTRY if word not in taken])
        name = f"{other.name.split()[0]} {business} {company.name.split()[-1]}"
    return replace(
        company,
        name=name,
        street=street,
        city=other.city,
        postcode=other.postcode,
        country=other.country,
        tax_id=_tax_id(company.entity_id, other.country) if company.tax_id else "",
    )


def _variant(rng: random.Random, original: CompanyRecord, record_id: int) -> CompanyRecord:
    """Enter the same company again, with one to three differences of form, and often a
    typo or a move to a new address as well."""
    record = replace(original, record_id=record_id)
    for change in rng.sample(_REFORMATTING, rng.randint(1, 3)):
        record = change(rng, record)
    if rng.random() < 0.5:
        record = rng.choice((_typo, _typo, _digit_typo))(rng, record)
    if rng.random() < 0.1:
        record = _moved(rng, record)
    return record


def _legal_form_variant(rng: random.Random, record: CompanyRecord) -> CompanyRecord:
    for short, long in _LEGAL_FORMS[record.country]:
        for old, new in ((short, long), (long, short)):
            if record.name.endswith(" " + old):
                name = record.name[: -len(old)] + rng.choice((new, new + ".", ""))
                return replace(record, name=name.strip().rstrip(",") or record.name)
    return record


def _abbreviation_variant(rng: random.Random, record: CompanyRecord) -> CompanyRecord:
    name = record.name
    for word, short in _ABBREVIATIONS.items():
        if word in name:
            return replace(record, name=name.replace(word, short + rng.choice(("", "."))))
    if " & " in name:
        return replace(record, name=name.replace(" & ", " and "))
    if " and " in name:
        return replace(record, name=name.replace(" and ", " & "))
    return replace(record, name=name.upper())


def _address_variant(rng: random.Random, record: CompanyRecord) -> CompanyRecord:
    words = record.street.split()
    if words and words[0].isdigit():
        words = [*words[1:], words[0]]
    elif words and words[-1].isdigit():
        words = [words[-1], *words[:-1]]
    street = " ".join(words)
    for long, short in _STREET_TYPES[record.country]:
        street = street.replace(long, short)
    return replace(record, street=street)


def _postcode_variant(rng: random.Random, record: CompanyRecord) -> CompanyRecord:
    postcode = record.postcode
    if " " in postcode:
        return replace(record, postcode=postcode.replace(" ", ""))
    return replace(record, postcode=postcode.lower(), city=record.city.upper())


def _tax_id_variant(rng: random.Random, record: CompanyRecord) -> CompanyRecord:
    if not record.tax_id or rng.random() < 0.5:
        return replace(record, tax_id="")
    tax_id = record.tax_id
    if tax_id[:2].isalpha():
        tax_id = rng.choice((tax_id[2:], f"{tax_id[:2]} {tax_id[2:5]} {tax_id[5:]}"))
    else:
        tax_id = tax_id.replace("-", "")
    return replace(record, tax_id=tax_id)


def _typo(rng: random.Random, record: CompanyRecord) -> CompanyRecord:
    field = rng.choice(("name", "street", "city"))
    value = getattr(record, field)
    position = rng.randrange(1, max(2, len(value) - 1))
    kind = rng.choice(("swap", "drop", "replace"))
    if kind == "swap" and position < len(value) - 1:
        value = value[:position] + value[position + 1] + value[position] + value[position + 2 :]
    elif kind == "drop":
        value = value[:position] + value[position + 1 :]
    else:
        value = value[:position] + rng.choice("aeiounrst") + value[position + 1 :]
    return replace(record, **{field: value})


def _moved(rng: random.Random, record: CompanyRecord) -> CompanyRecord:
    """Move the company to a new street address in the same city, often with another
    postcode, as when one of its records was updated after a move."""
    number = str(rng.randint(1, 250))
    postcode = record.postcode
    if rng.random() < 0.6 and record.country != "GB":
        postcode = postcode[:2] + f"{rng.randint(0, 999):03d}"
    return replace(record, street=f"{number} {_word(rng).title()} Street", postcode=postcode)


def _digit_typo(rng: random.Random, record: CompanyRecord) -> CompanyRecord:
    """Mistype one digit of the postcode or of the tax ID."""
    field = "tax_id" if record.tax_id and rng.random() < 0.5 else "postcode"
    value = getattr(record, field)
    positions = [i for i, ch in enumerate(value) if ch.isdigit()]
    if not positions:
        return record
    position = rng.choice(positions)
    digit = str((int(value[position]) + rng.randint(1, 9)) % 10)
    return replace(record, **{field: value[:position] + digit + value[position + 1 :]})


_REFORMATTING = (
    _legal_form_variant,
    _legal_form_variant,
    _abbreviation_variant,
    _address_variant,
    _address_variant,
    _postcode_variant,
    _tax_id_variant,
    _tax_id_variant,
)


def _word(rng: random.Random, least: int = 2) -> str:
    """Make up a word of ``least`` to four syllables."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(least, 4)))


def _city(rng: random.Random, country: str) -> tuple[str, str, str]:
    return country, _word(rng).title(), str(rng.randint(10, 99))


def _postcode(rng: random.Random, country: str, prefix: str) -> str:
    if country == "GB":
        letters = "ABCDEFGHJKLMNPRSTUWYZ"
        return (
            f"{rng.choice(letters)}{rng.choice(letters)}{prefix[0]} "
            f"{prefix[1]}{rng.choice(letters)}{rng.choice(letters)}"
        )
    return f"{prefix}{rng.randint(0, 999):03d}"


def _tax_id(entity_id: int, country: str) -> str:
    """Return a tax ID of the country's shape, different for every company: multiplying by a
    number prime to 10 permutes the residues modulo 10**9."""
    digits = f"{entity_id * 7_654_321 % 10**9:09d}"
    if country == "US":
        return f"{digits[:2]}-{digits[2:]}"
    return country + digits + ("01" if country == "FR" else "")


def iter_company_rows(records: list[CompanyRecord]) -> Iterator[dict[str, str | int]]:
    for record in records:
        yield {
            "party_id": record.record_id,
            "name": record.name,
            "street": record.street,
            "city": record.city,
            "postcode": record.postcode,
            "tax_id": record.tax_id,
            "country": record.country,
        }
