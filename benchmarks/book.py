"""A deterministic benchmark book: one seller entity, its customers and their contracts, as rows.

Every value follows from the index of its row, so two books of one size are identical. The
book is meant to pass every check, so that a billing run issues every draft:

- each customer has its own valid German VAT ID (check digit by ISO 7064 Mod 11,10, as
  python-stdnum validates it), name and street, so PARTY_DUPLICATE_SUSPECTED stays quiet;
- each contract is a services contract with every mandatory field, a signed SOW document,
  a bill-to entity, a customer PO and a billing schedule that bills exactly its version;
- every tenth contract has a second version from an approved amendment (effective
  2026-07-01, a 5% higher price on line L01), applied to its schedule as
  ``schedule_apply_amendment`` does;
- every fourth contract has an approved 5% discount on line L02, every fifth a PO ceiling
  far above what the runs bill, every third renews automatically.

The last two lines of a contract are a usage line and a time-and-materials line, billed in
arrears from the usage records and timesheets of ``record_months``. The other lines are
fixed monthly fees. So a monthly run bills ``lines_per_contract`` lines per contract.

SOW and amendment documents are rows only: their files are not written under
``var/documents``, because no check reads them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from stdnum.iso7064 import mod_11_10

from benchmarks.tables import Table

START = dt.date(2026, 1, 1)
AMENDMENT_START = dt.date(2026, 7, 1)
CREATED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SIGNED_ON = dt.date(2025, 12, 15)

SELLER_ID = 1
CONTRACTS_PER_CUSTOMER = 5
AMEND_EVERY = 10
DISCOUNT_EVERY = 4
CEILING_EVERY = 5
AUTO_RENEW_EVERY = 3
TAX_RATE = Decimal("19")
AMENDMENT_UPLIFT = Decimal("1.05")
DISCOUNT_PERCENT = Decimal("5")
USAGE_PRICE = Decimal("0.25")
HOURLY_RATE = Decimal("120.00")

# Chart of accounts: code, name, kind.
GL_ACCOUNTS = (
    ("1200", "Trade receivables", "receivable"),
    ("2200", "VAT and sales tax payable", "tax"),
    ("4000", "Subscription revenue", "revenue"),
    ("4100", "Professional services revenue", "revenue"),
    ("4200", "Usage revenue", "revenue"),
)


@dataclass(frozen=True)
class BookSize:
    contracts: int
    lines_per_contract: int = 10
    # (year, month) of the usage records and timesheets, the arrears months of the runs.
    record_months: tuple[tuple[int, int], ...] = ((2026, 10),)

    def __post_init__(self) -> None:
        if self.contracts < 1:
            raise ValueError(f"the book needs at least 1 contract, not {self.contracts}")
        if self.lines_per_contract < 3:
            raise ValueError(
                "a contract needs at least 3 lines (fixed, usage, time and materials), "
                f"not {self.lines_per_contract}"
            )

    @property
    def customers(self) -> int:
        return -(-self.contracts // CONTRACTS_PER_CUSTOMER)

    @property
    def amendments(self) -> int:
        return self.contracts // AMEND_EVERY


@dataclass(frozen=True)
class LineSpec:
    code: str
    kind: str
    description: str
    unit_code: str
    quantity: Decimal | None
    unit_price: Decimal
    gl_account: str


def vat_id(index: int) -> str:
    """Return the valid German VAT ID number ``index`` (DE, 8 digits, 1 check digit)."""
    body = f"{10_000_000 + index:08d}"
    if len(body) != 8:
        raise ValueError(f"VAT ID index {index} is out of range")
    return f"DE{body}{mod_11_10.calc_check_digit(body)}"


# Syllables of the generated customer names, and the cities of their bill-to addresses.
_SYLLABLES = tuple(
    "ba ke lo mi nu ra se ti vo za dre fal gor hin jas kur lem mor nev pal quin ros stan tor "
    "ul ver wen xan yor zel".split()
)
_INDUSTRIES = ("Logistik", "Maschinenbau", "Software", "Handel", "Bau", "Medien", "Consulting")
# City and the first digit of its postcodes.
_CITIES = tuple(
    tuple(pair.split(":"))
    for pair in (
        "Munich:8 Berlin:1 Hamburg:2 Cologne:5 Frankfurt:6 Stuttgart:7 Leipzig:0 Dresden:0 "
        "Hanover:3 Bremen:2 Nuremberg:9 Essen:4 Dortmund:4 Bonn:5 Mannheim:6 Augsburg:8 Kiel:2 "
        "Freiburg:7 Mainz:5 Rostock:1"
    ).split()
)
# A multiplier coprime to the number of four-syllable names, so that consecutive customers
# get names that differ from their first letters on.
_NAME_STRIDE = 7_919


def customer_name(c: int) -> str:
    """Return the name of customer ``c``: four syllables, an industry and a legal form.

    The names are unique for up to 810,000 customers and spread over the alphabet, so the
    duplicate matcher's blocks on city and name prefix stay small, as in a real book.
    """
    count = len(_SYLLABLES)
    if c >= count**4:
        raise ValueError(
            f"customer index {c} is out of range: the book has names for fewer than "
            f"{count**4:,} customers, so generate a smaller book"
        )
    code = (c * _NAME_STRIDE) % count**4
    parts = []
    for _ in range(4):
        code, digit = divmod(code, count)
        parts.append(_SYLLABLES[digit])
    return f"{''.join(parts).title()} {_INDUSTRIES[c % len(_INDUSTRIES)]} GmbH"


def customer_city(c: int) -> tuple[str, str]:
    """Return the city and postcode of customer ``c``'s bill-to address."""
    city, prefix = _CITIES[c % len(_CITIES)]
    return city, f"{prefix}{c % 10_000:04d}"


def customer_street(c: int) -> str:
    """Return the street of customer ``c``'s bill-to address, one of its own."""
    return f"{_SYLLABLES[c % len(_SYLLABLES)].title()}strasse {c // len(_SYLLABLES) + 1}"


def contract_number(j: int) -> str:
    return f"B-{j:07d}"


def customer_of(j: int) -> int:
    return (j - 1) // CONTRACTS_PER_CUSTOMER + 1


def is_amended(j: int) -> bool:
    return j % AMEND_EVERY == 0


def amendment_index(j: int) -> int:
    return j // AMEND_EVERY


def has_discount(j: int) -> bool:
    return j % DISCOUNT_EVERY == 1


def contract_lines(j: int, size: BookSize, *, amended: bool = False) -> list[LineSpec]:
    """Return the lines of contract ``j``; ``amended`` gives the second version's."""
    count = size.lines_per_contract
    lines = []
    for n in range(1, count - 1):
        price = Decimal(100 + (j * 37 + n * 101) % 900) + Decimal((j + n) % 4) * Decimal("0.25")
        if amended and n == 1:
            price = (price * AMENDMENT_UPLIFT).quantize(Decimal("0.01"))
        lines.append(
            LineSpec(
                code=f"L{n:02d}",
                kind="recurring_fixed",
                description=f"Managed service {n}, monthly fee",
                unit_code="C62",
                quantity=Decimal(1 + (j + n) % 3),
                unit_price=price,
                gl_account="4000" if n % 2 else "4100",
            )
        )
    lines.append(
        LineSpec(
            code=f"L{count - 1:02d}",
            kind="usage",
            description="API calls",
            unit_code="C62",
            quantity=None,
            unit_price=USAGE_PRICE,
            gl_account="4200",
        )
    )
    lines.append(
        LineSpec(
            code=f"L{count:02d}",
            kind="time_and_materials",
            description="Consulting hours",
            unit_code="HUR",
            quantity=None,
            unit_price=HOURLY_RATE,
            gl_account="4100",
        )
    )
    return lines


def _sow_content(j: int) -> bytes:
    return f"Statement of work {contract_number(j)}, revision 1, signed terms.".encode()


def _amendment_content(j: int) -> bytes:
    return f"Change order AMD-1 of contract {contract_number(j)}, signed.".encode()


def _document_row(
    pk: int, kind: str, family: str, title: str, content: bytes, signed_on: dt.date
) -> tuple[object, ...]:
    digest = hashlib.sha256(content).hexdigest()
    return (
        pk,
        kind,
        family,
        1,
        title,
        digest,
        len(content),
        f"{digest[:2]}/{digest}",
        f"{family}.pdf",
        signed_on,
        "Jane Buyer",
        "application/pdf",
        "",
        CREATED_AT,
    )


# ---------------------------------------------------------------------------------------------
# Rows per table, in the order the foreign keys need them


def seller_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    yield (
        SELLER_ID,
        "bench-de",
        "Bench Services GmbH",
        "Hauptstrasse 1",
        "Berlin",
        "10115",
        "DE",
        "DE136695976",
        "HRB 12345",
        "billing@bench.example",
    )


def bank_account_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    yield (1, SELLER_ID, "DE89370400440532013000", "COBADEFFXXX", True)


def numbering_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    yield (1, SELLER_ID, "BDE-", 1, 7)


def gl_account_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for pk, (code, name, kind) in enumerate(GL_ACCOUNTS, start=1):
        yield (pk, code, name, kind, False)


def party_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for c in range(1, size.customers + 1):
        yield (
            c,
            f"BC-{c:06d}",
            "customer",
            customer_name(c),
            "DE",
            vat_id(c),
            customer_city(c)[1],
            None,
            None,
            "",
        )


def bill_to_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for c in range(1, size.customers + 1):
        yield (
            c,
            c,
            f"BC-{c:06d}-BT",
            customer_name(c),
            customer_street(c),
            *customer_city(c),
            "",
            "DE",
            vat_id(c),
            True,
            "",
            "Accounts Payable",
            f"ap@customer{c}.example",
            None,
        )


def document_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for j in range(1, size.contracts + 1):
        number = contract_number(j)
        yield _document_row(j, "sow", f"SOW-{number}", f"SOW {number}", _sow_content(j), SIGNED_ON)
    for j in range(AMEND_EVERY, size.contracts + 1, AMEND_EVERY):
        number = contract_number(j)
        yield _document_row(
            size.contracts + amendment_index(j),
            "amendment",
            f"AMD-{number}",
            f"Change order AMD-1 of {number}",
            _amendment_content(j),
            AMENDMENT_START - dt.timedelta(days=16),
        )


def contract_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for j in range(1, size.contracts + 1):
        yield (
            j,
            contract_number(j),
            customer_of(j),
            SELLER_ID,
            "services",
            f"Managed services {contract_number(j)}",
            "",
            # Active since its creation: the billing run drafts active contracts only.
            "active",
            CREATED_AT,
            CREATED_AT,
        )


def amendment_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for j in range(AMEND_EVERY, size.contracts + 1, AMEND_EVERY):
        new_price = contract_lines(j, size, amended=True)[0].unit_price
        yield (
            amendment_index(j),
            j,
            "AMD-1",
            "approved",
            AMENDMENT_START,
            "Price uplift on line L01",
            json.dumps({"lines": {"L01": {"unit_price": str(new_price)}}}),
            size.contracts + amendment_index(j),
            AMENDMENT_START - dt.timedelta(days=16),
            AMENDMENT_START - dt.timedelta(days=11),
            "Finance Controller",
            CREATED_AT,
        )


def _version_row(
    pk: int, j: int, number: int, effective_from: dt.date, amendment_id: int | None
) -> tuple[object, ...]:
    c = customer_of(j)
    auto_renew = j % AUTO_RENEW_EVERY == 0
    return (
        pk,
        j,
        number,
        effective_from,
        "EUR",
        "Europe/Berlin",
        "monthly",
        1,
        None,
        c,
        "S",
        TAX_RATE,
        "",
        "",
        30,
        f"PO-{j:07d}",
        Decimal("10000000.00") if j % CEILING_EVERY == 0 else None,
        f"billing@customer{c}.example",
        j,
        dt.date(2027, 12, 31),
        "auto_renew" if auto_renew else "none",
        12 if auto_renew else None,
        None,
        has_discount(j),
        "",
        "",
        "",
        json.dumps([]),
        amendment_id,
        CREATED_AT,
    )


def version_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for j in range(1, size.contracts + 1):
        yield _version_row(j, j, 1, START, None)
    for j in range(AMEND_EVERY, size.contracts + 1, AMEND_EVERY):
        k = amendment_index(j)
        yield _version_row(size.contracts + k, j, 2, AMENDMENT_START, k)


def _versions(size: BookSize) -> Iterator[tuple[int, int, bool]]:
    """Yield (version id, contract, amended) for every version."""
    for j in range(1, size.contracts + 1):
        yield j, j, False
        if is_amended(j):
            yield size.contracts + amendment_index(j), j, True


def contract_line_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for version_id, j, amended in _versions(size):
        for line in contract_lines(j, size, amended=amended):
            yield (
                version_id,
                line.code,
                line.kind,
                line.description,
                "",
                line.unit_code,
                line.quantity,
                line.unit_price,
                line.gl_account,
                "",
                None,
            )


def discount_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for version_id, j, _ in _versions(size):
        if has_discount(j):
            yield (version_id, "L02", DISCOUNT_PERCENT, f"APPROVAL-{j:07d}", None)


def schedule_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for j in range(1, size.contracts + 1):
        auto_renew = j % AUTO_RENEW_EVERY == 0
        yield (
            j,
            j,
            customer_of(j),
            "EUR",
            "monthly",
            1,
            f"PO-{j:07d}",
            "registry",
            "",
            START,
            None if auto_renew else dt.date(2027, 12, 31),
            CREATED_AT,
        )


def _schedule_line_row(
    j: int, line: LineSpec, effective_from: dt.date, effective_to: dt.date | None
) -> tuple[object, ...]:
    discount = DISCOUNT_PERCENT if has_discount(j) and line.code == "L02" else None
    return (
        j,
        line.code,
        line.kind,
        line.description,
        line.unit_code,
        line.quantity,
        line.unit_price,
        discount,
        line.gl_account,
        "S",
        TAX_RATE,
        "",
        effective_from,
        effective_to,
        None,
    )


def schedule_line_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    for j in range(1, size.contracts + 1):
        if not is_amended(j):
            for line in contract_lines(j, size):
                yield _schedule_line_row(j, line, START, None)
            continue
        for line in contract_lines(j, size):
            yield _schedule_line_row(j, line, START, AMENDMENT_START)
        for line in contract_lines(j, size, amended=True):
            yield _schedule_line_row(j, line, AMENDMENT_START, None)


def usage_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    code = f"L{size.lines_per_contract - 1:02d}"
    for year, month in size.record_months:
        for j in range(1, size.contracts + 1):
            quantities = (Decimal(100 + j % 50), Decimal(200), Decimal(50 + j % 7))
            for n, (day, quantity) in enumerate(zip((5, 15, 25), quantities, strict=True)):
                yield (
                    j,
                    code,
                    dt.date(year, month, day),
                    quantity,
                    f"U-{j}-{year}{month:02d}-{n}",
                )


def timesheet_rows(size: BookSize) -> Iterator[tuple[object, ...]]:
    code = f"L{size.lines_per_contract:02d}"
    for year, month in size.record_months:
        for j in range(1, size.contracts + 1):
            for n, (day, hours) in enumerate(((10, Decimal("4.5")), (20, Decimal("6")))):
                yield (
                    j,
                    code,
                    dt.date(year, month, day),
                    hours,
                    f"Consultant {j % 40 + 1}",
                    f"T-{j}-{year}{month:02d}-{n}",
                )


def book_tables(size: BookSize) -> list[Table]:
    """Return the tables of the book in insertion order, each with its row generator."""
    return [
        Table(
            "registry.SellerEntity",
            (
                "id",
                "code",
                "name",
                "street",
                "city",
                "postcode",
                "country",
                "vat_id",
                "registration_id",
                "email",
            ),
            seller_rows(size),
        ),
        Table(
            "registry.BankAccount",
            ("id", "seller_entity", "iban", "bic", "is_primary"),
            bank_account_rows(size),
        ),
        Table(
            "billing.NumberingSeries",
            ("id", "seller_entity", "prefix", "next_number", "width"),
            numbering_rows(size),
        ),
        Table(
            "registry.GLAccount",
            ("id", "code", "name", "kind", "is_closed"),
            gl_account_rows(size),
        ),
        Table(
            "registry.Party",
            (
                "id",
                "code",
                "kind",
                "name",
                "country",
                "tax_id",
                "postcode",
                "merged_into",
                "archived_at",
                "customer_group",
            ),
            party_rows(size),
        ),
        Table(
            "registry.BillToEntity",
            (
                "id",
                "party",
                "code",
                "name",
                "street",
                "city",
                "postcode",
                "subdivision",
                "country",
                "tax_id",
                "tax_id_valid",
                "tax_id_error",
                "contact_name",
                "contact_email",
                "archived_at",
            ),
            bill_to_rows(size),
        ),
        Table(
            "registry.Document",
            (
                "id",
                "kind",
                "family",
                "revision",
                "title",
                "sha256",
                "size",
                "storage_path",
                "file_name",
                "signed_on",
                "signer",
                "content_type",
                "stored_by",
                "created_at",
            ),
            document_rows(size),
        ),
        Table(
            "registry.Contract",
            (
                "id",
                "number",
                "party",
                "seller_entity",
                "contract_type",
                "title",
                "external_ref",
                "status",
                "activated_at",
                "created_at",
            ),
            contract_rows(size),
        ),
        Table(
            "registry.Amendment",
            (
                "id",
                "contract",
                "number",
                "status",
                "effective_from",
                "description",
                "changes",
                "document",
                "signed_on",
                "approved_on",
                "approved_by",
                "created_at",
            ),
            amendment_rows(size),
        ),
        Table(
            "registry.ContractVersion",
            (
                "id",
                "contract",
                "version_number",
                "effective_from",
                "currency",
                "timezone",
                "cadence",
                "billing_day",
                "price_list",
                "bill_to",
                "tax_category",
                "tax_rate",
                "tax_jurisdiction",
                "exemption_reason",
                "payment_terms_days",
                "customer_po",
                "po_ceiling",
                "escalation_contact",
                "sow_document",
                "end_date",
                "renewal_terms",
                "renewal_months",
                "minimum_commitment",
                "approved_discounts",
                "escalation_clause",
                "liquidated_damages",
                "termination_rights",
                "bespoke_fields",
                "amendment",
                "created_at",
            ),
            version_rows(size),
        ),
        Table(
            "registry.ContractLine",
            (
                "version",
                "line_code",
                "kind",
                "description",
                "product_code",
                "unit_code",
                "quantity",
                "unit_price",
                "gl_account",
                "tax_category",
                "tax_rate",
            ),
            contract_line_rows(size),
        ),
        Table(
            "registry.Discount",
            ("version", "line_code", "percent", "approval_reference", "expires_on"),
            discount_rows(size),
        ),
        Table(
            "registry.BillingSchedule",
            (
                "id",
                "contract",
                "bill_to",
                "currency",
                "cadence",
                "billing_day",
                "customer_po",
                "source",
                "external_ref",
                "starts_on",
                "ends_on",
                "updated_at",
            ),
            schedule_rows(size),
        ),
        Table(
            "registry.BillingScheduleLine",
            (
                "schedule",
                "line_code",
                "kind",
                "description",
                "unit_code",
                "quantity",
                "unit_price",
                "discount_percent",
                "gl_account",
                "tax_category",
                "tax_rate",
                "exemption_reason",
                "effective_from",
                "effective_to",
                "bill_on",
            ),
            schedule_line_rows(size),
        ),
        Table(
            "registry.UsageRecord",
            ("contract", "line_code", "service_date", "quantity", "external_id"),
            usage_rows(size),
        ),
        Table(
            "registry.Timesheet",
            ("contract", "line_code", "work_date", "hours", "person", "external_id"),
            timesheet_rows(size),
        ),
    ]
