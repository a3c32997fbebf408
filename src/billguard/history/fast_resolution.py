"""Resolve the documents of a file set-based in DuckDB, by the rules of resolution.Registry.

The DuckDB path of fast_import groups a file's rows into the table ``documents``. This module
adds ``resolutions``: each document's customer, bill-to and contract, the invoice a credit
note credits, and why the customer or contract stays empty. The rules are those of
``Registry.resolve_fields`` and ``services.resolve_document``, which the row-by-row path runs
one document at a time:

- the customer is matched per distinct name in Python (``Registry.resolve_customer``), since
  an export names few customers;
- the first word of the memo that is a contract number names the contract, unless the
  contract belongs to another customer than the one matched;
- otherwise the customer's only contract with a version in force on the document's first
  service day (its issue date when it has none);
- the bill-to is the one the name matched, else the one of the contract version in force,
  else the customer's only bill-to;
- a credit note without a contract takes the terms of the invoice its memo names.

tests/history/test_resolution_parity.py compares both paths on the cases above.
"""

# The SQL below is built from constant names. Every value from the file or the registry is
# read by DuckDB as data, never spliced into SQL text.
# ruff: noqa: S608

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from billguard.history.resolution import REFERENCE_WORD, Registry


def registry_tables_load(
    database: Any,
    registry: Registry,
    invoice_terms: dict[str, tuple[int | None, int | None, int | None]],
    folder: Path,
) -> None:
    """Load the contracts, versions, single bill-tos and stored invoices that documents_resolve
    reads into DuckDB tables. They do not depend on the file, so they can be loaded while
    DuckDB reads it."""
    tables: dict[str, tuple[str, list[tuple[Any, ...]]]] = {
        "contract_numbers": (
            "key VARCHAR, contract_id BIGINT",
            [(key, terms.id) for key, terms in registry.contracts.items()],
        ),
        "contract_terms": (
            "contract_id BIGINT, party_id BIGINT, number VARCHAR",
            [(t.id, t.party_id, t.number) for t in registry.contracts_by_id.values()],
        ),
        "contract_versions": (
            "contract_id BIGINT, position INTEGER, effective_from DATE, last_day DATE, "
            "bill_to_id BIGINT",
            [
                (t.id, position, v.effective_from, v.last_day, v.bill_to_id)
                for t in registry.contracts_by_id.values()
                for position, v in enumerate(t.versions)
            ],
        ),
        "single_bill_tos": (
            "party_id BIGINT, bill_to_id BIGINT",
            [
                (party_id, bill_tos[0])
                for party_id, bill_tos in registry.party_bill_tos.items()
                if len(bill_tos) == 1
            ],
        ),
        "invoice_terms": (
            "number VARCHAR, party_id BIGINT, bill_to_id BIGINT, contract_id BIGINT",
            [(number, *terms) for number, terms in invoice_terms.items()],
        ),
    }
    for name, (columns, rows) in tables.items():
        _table_write(database, name, columns, rows, folder)


def documents_resolve(database: Any, registry: Registry, kind: str, folder: Path) -> None:
    """Create the DuckDB table ``resolutions`` from ``documents`` and the tables of
    registry_tables_load (see the module's doc).

    Its columns: ordinal, party_id, bill_to_id, contract_id, credited (the credited invoice's
    number, "" for none), customer_issue and contract_issue ("" when resolved).
    """
    names = [
        row[0] for row in database.execute("SELECT DISTINCT customer FROM documents").fetchall()
    ]
    customers = []
    for name in names:
        match = registry.resolve_customer(name)
        customers.append((name, match.party_id, match.bill_to_id, match.customer_issue))
    _table_write(
        database, "customer_matches",
        "name VARCHAR, party_id BIGINT, bill_to_id BIGINT, issue VARCHAR", customers, folder,
    )  # fmt: skip
    pattern = REFERENCE_WORD.replace("'", "''")
    database.execute(_RESOLUTION_SQL.replace("REFERENCE_WORD", pattern))
    if kind == "credit_note":
        database.execute(_CREDIT_NOTES_SQL.replace("REFERENCE_WORD", pattern))


def _table_write(
    database: Any, name: str, columns: str, rows: list[tuple[Any, ...]], folder: Path
) -> None:
    """Create the DuckDB table ``name`` with ``columns`` and the ``rows``, through a CSV file
    in which "\\N" marks an empty value (so that an empty text stays a text)."""
    database.execute(f"CREATE TABLE {name} ({columns})")
    if not rows:
        return
    file = folder / f"{name}.csv"
    with file.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            tuple("\\N" if value is None else value for value in row) for row in rows
        )
    pairs = [part.strip().split(" ", 1) for part in columns.split(",")]
    types = ", ".join(f"'{column}': '{kind}'" for column, kind in pairs)
    database.execute(
        f"INSERT INTO {name} SELECT * FROM read_csv(?, header = false, auto_detect = false, "
        f"columns = {{{types}}}, nullstr = '\\N', quote = '\"', escape = '\"')",
        [str(file)],
    )


# Each statement adds one step of the rules as columns, so no expression is repeated.
# ``in_force`` follows ContractTerms.version_at: the latest version that starts on or before
# the day (the later one in the registry's order when two start the same day), if its last
# day is not before the day.
_RESOLUTION_SQL = """
CREATE TABLE resolutions AS
WITH
docs AS (
    SELECT
        d.ordinal, d.customer, coalesce(d.first_service, d.issue_date) AS day,
        regexp_extract_all(d.reference, 'REFERENCE_WORD') AS tokens,
        c.party_id AS customer_party, c.bill_to_id AS customer_bill_to,
        coalesce(c.issue, '') AS customer_issue
    FROM documents d
    LEFT JOIN customer_matches c ON c.name = d.customer
),
words AS (
    SELECT ordinal, unnest(tokens) AS token, unnest(range(1, len(tokens) + 1)) AS place
    FROM docs
),
named AS (
    SELECT w.ordinal, arg_min(n.contract_id, w.place) AS contract_id
    FROM words w
    JOIN contract_numbers n ON n.key = lower(w.token)
    GROUP BY w.ordinal
),
by_name AS (
    SELECT
        d.*,
        t.contract_id AS named_contract,
        CASE
            WHEN t.contract_id IS NULL THEN d.customer_party
            ELSE coalesce(d.customer_party, t.party_id)
        END AS party_id,
        CASE
            WHEN t.contract_id IS NOT NULL AND d.customer_party IS NULL THEN ''
            ELSE d.customer_issue
        END AS party_issue,
        CASE
            WHEN t.contract_id IS NOT NULL AND d.customer_party IS NOT NULL
                AND t.party_id <> d.customer_party
                THEN 'contract ' || t.number || ' belongs to another customer'
        END AS named_issue
    FROM docs d
    LEFT JOIN named n ON n.ordinal = d.ordinal
    LEFT JOIN contract_terms t ON t.contract_id = n.contract_id
),
candidates AS (
    SELECT b.ordinal, b.day, t.contract_id, t.number
    FROM by_name b
    JOIN contract_terms t ON t.party_id = b.party_id
    WHERE b.named_contract IS NULL
    UNION ALL
    SELECT b.ordinal, b.day, t.contract_id, t.number
    FROM by_name b
    JOIN contract_terms t ON t.contract_id = b.named_contract
    WHERE b.named_issue IS NULL
),
latest AS (
    SELECT
        c.ordinal, c.day, c.contract_id, any_value(c.number) AS number,
        arg_max(
            {'last_day': v.last_day, 'bill_to_id': v.bill_to_id},
            CAST(v.effective_from - DATE '1970-01-01' AS BIGINT) * 1000000 + v.position
        ) AS found
    FROM candidates c
    JOIN contract_versions v ON v.contract_id = c.contract_id AND v.effective_from <= c.day
    GROUP BY c.ordinal, c.day, c.contract_id
),
in_force AS (
    SELECT ordinal, contract_id, number, found.bill_to_id AS bill_to_id
    FROM latest
    WHERE found.last_day IS NULL OR day <= found.last_day
),
covering AS (
    SELECT
        i.ordinal, count(*) AS contracts, min(i.contract_id) AS contract_id,
        string_agg(i.number, ', ' ORDER BY i.number) AS numbers
    FROM in_force i
    JOIN by_name b ON b.ordinal = i.ordinal
    WHERE b.named_contract IS NULL
    GROUP BY i.ordinal
),
decided AS (
    SELECT
        b.ordinal, b.day, b.party_id, b.customer_bill_to, b.party_issue,
        CASE
            WHEN b.named_contract IS NOT NULL AND b.named_issue IS NULL THEN b.named_contract
            WHEN b.named_contract IS NULL AND b.party_id IS NOT NULL AND c.contracts = 1
                THEN c.contract_id
        END AS contract_id,
        CASE
            WHEN b.named_contract IS NOT NULL THEN coalesce(b.named_issue, '')
            WHEN b.party_id IS NULL THEN 'no customer, so no contract'
            WHEN c.contracts = 1 THEN ''
            WHEN c.contracts > 1 THEN
                c.contracts || ' contracts cover ' || CAST(b.day AS VARCHAR)
                || ' (' || c.numbers || ')'
            ELSE 'no contract of the customer covers ' || CAST(b.day AS VARCHAR)
        END AS contract_issue
    FROM by_name b
    LEFT JOIN covering c ON c.ordinal = b.ordinal
)
SELECT
    d.ordinal,
    d.party_id,
    coalesce(d.customer_bill_to, i.bill_to_id, s.bill_to_id) AS bill_to_id,
    d.contract_id,
    '' AS credited,
    d.party_issue AS customer_issue,
    d.contract_issue
FROM decided d
LEFT JOIN in_force i ON i.ordinal = d.ordinal AND i.contract_id = d.contract_id
LEFT JOIN single_bill_tos s ON s.party_id = d.party_id
"""

# A credit note names the invoice it credits by number in its memo (the first word that is
# the number of a stored invoice). One without a contract takes the invoice's customer,
# bill-to and contract, when the invoice has a contract and its customer is the one matched
# or none.
_CREDIT_NOTES_SQL = """
CREATE OR REPLACE TABLE resolutions AS
WITH
words AS (
    SELECT
        d.ordinal, unnest(tokens) AS token, unnest(range(1, len(tokens) + 1)) AS place
    FROM (
        SELECT ordinal, regexp_extract_all(reference, 'REFERENCE_WORD') AS tokens
        FROM documents
    ) d
),
credited AS (
    SELECT w.ordinal, arg_min(w.token, w.place) AS number
    FROM words w
    JOIN invoice_terms i ON i.number = w.token
    GROUP BY w.ordinal
),
taken AS (
    SELECT
        r.*,
        c.number AS credited_number,
        i.contract_id IS NOT NULL AND r.contract_id IS NULL
            AND (i.party_id IS NULL OR i.party_id = r.party_id) AS takes_terms,
        i.party_id AS invoice_party,
        i.bill_to_id AS invoice_bill_to,
        t.contract_id AS invoice_contract
    FROM resolutions r
    LEFT JOIN credited c ON c.ordinal = r.ordinal
    LEFT JOIN invoice_terms i ON i.number = c.number
    LEFT JOIN contract_terms t ON t.contract_id = i.contract_id
)
SELECT
    ordinal,
    CASE WHEN takes_terms THEN invoice_party ELSE party_id END AS party_id,
    CASE WHEN takes_terms THEN coalesce(bill_to_id, invoice_bill_to) ELSE bill_to_id END
        AS bill_to_id,
    CASE WHEN takes_terms THEN invoice_contract ELSE contract_id END AS contract_id,
    coalesce(credited_number, '') AS credited,
    CASE WHEN takes_terms THEN '' ELSE customer_issue END AS customer_issue,
    contract_issue
FROM taken
"""
