"""The SQL of the leakage audit, one text for PostgreSQL and DuckDB.

DuckDB divides DECIMAL values in DOUBLE, so every amount is computed in exact integers.
Quantities are in 1/10,000 units (``q4``), unit prices in 1/1,000,000 (``p6``), percentages in
1/10,000 of a percent (``d4``) and money in thousandths of the currency unit (``milli``, the
precision of the money columns). ``INTEGRAL`` stands for the integer type that holds the
products (PostgreSQL ``numeric``, DuckDB ``hugeint``) and ``div`` truncates, as PostgreSQL's
``div`` does (DuckDB gets a macro of that name). Divisions happen only in ``rhu``, which rounds
half away from zero as ``RoundingMode.HALF_UP`` does.

The statements build temporary tables in steps, so that each step is one set-based pass:
``leak_requests`` (what to price: the first invoice line of each contract line and service
period, and every billing period that no invoice covers), then ``leak_findings``, whose
statement prices the requests in common table expressions. Billing periods come from two
small calendars, ``leak_period_calendar`` (every period of each cadence in the window) and
``leak_days`` (the period of each distinct day priced), so the date arithmetic runs once per
calendar row and not once per invoice line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

# Finding codes. Most come from the check catalogue of the billing run. LINE_AMOUNT_MISMATCH,
# CONTRACT_LINE_NOT_FOUND and CONTRACT_PRICE_NOT_FOUND are the audit's own.
PRICE_MISMATCH = "PRICE_MISMATCH"
ESCALATION_NOT_APPLIED = "ESCALATION_NOT_APPLIED"
QUANTITY_MISMATCH = "QUANTITY_MISMATCH"
BILLING_PERIOD_MISSED = "BILLING_PERIOD_MISSED"
ALREADY_INVOICED = "ALREADY_INVOICED"
BILL_TO_MISMATCH = "BILL_TO_MISMATCH"
CONTRACT_NOT_FOUND = "CONTRACT_NOT_FOUND"
CONTRACT_NOT_ACTIVE = "CONTRACT_NOT_ACTIVE"
CONTRACT_EXPIRED = "CONTRACT_EXPIRED"
CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
LINE_AMOUNT_MISMATCH = "LINE_AMOUNT_MISMATCH"
CONTRACT_LINE_NOT_FOUND = "CONTRACT_LINE_NOT_FOUND"
CONTRACT_PRICE_NOT_FOUND = "CONTRACT_PRICE_NOT_FOUND"
SOW_MISSING = "SOW_MISSING"
CONTRACT_FIELD_MISSING = "CONTRACT_FIELD_MISSING"

UNDER = "under"
OVER = "over"
AT_RISK = "at_risk"

DIALECTS = ("postgresql", "duckdb")


def rhu(numerator: str, denominator: str) -> str:
    """Return SQL for ``numerator / denominator`` rounded half away from zero (denominator > 0)."""
    n, d = f"({numerator})", f"({denominator})"
    return (
        f"(CASE WHEN {n} >= 0 THEN div(2 * {n} + {d}, 2 * {d}) "
        f"ELSE -div(-2 * {n} + {d}, 2 * {d}) END)"
    )


def month_start(index: str) -> str:
    """Return SQL for the first day of the month with index ``year * 12 + month - 1``."""
    return f"make_date(CAST(div({index}, 12) AS INTEGER), CAST(({index}) % 12 + 1 AS INTEGER), 1)"


def boundary(index: str, billing_day: str) -> str:
    """Return SQL for the billing day in month ``index``, moved back to a shorter month's end."""
    days_in_month = f"({month_start(f'({index}) + 1')} - {month_start(index)})"
    return (
        f"make_date(CAST(div({index}, 12) AS INTEGER), CAST(({index}) % 12 + 1 AS INTEGER), "
        f"CAST(LEAST({billing_day}, {days_in_month}) AS INTEGER))"
    )


def month_index(day: str) -> str:
    year = f"CAST(extract(year FROM {day}) AS INTEGER)"
    month = f"CAST(extract(month FROM {day}) AS INTEGER)"
    return f"({year} * 12 + {month} - 1)"


def period_start_index(day: str, step: str, phase: str, billing_day: str) -> str:
    """Return SQL for the month index where the billing period containing ``day`` starts.

    The same arithmetic as ``domain.periods.period_containing``.
    """
    aligned = f"({month_index(day)} - ({month_index(day)} - {phase}) % {step})"
    return (
        f"(CASE WHEN {boundary(aligned, billing_day)} > {day} "
        f"THEN {aligned} - {step} ELSE {aligned} END)"
    )


def currency_values(minor_units: Iterable[tuple[str, int]]) -> str:
    rows = ", ".join(f"('{code}', {10**units}, {10 ** (3 - units)})" for code, units in minor_units)
    return f"(VALUES {rows}) AS c(code, scale, milli_per_minor)"


def date_literal(day: dt.date | None) -> str:
    return "CAST(NULL AS DATE)" if day is None else f"DATE '{day.isoformat()}'"


def statements(
    dialect: str, since: dt.date | None, minor_units: Iterable[tuple[str, int]]
) -> list[str]:
    """Return the statements that fill the temporary table ``leak_findings``, in order."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {DIALECTS}")
    integral = "numeric" if dialect == "postgresql" else "hugeint"
    replacements = {
        "INTEGRAL": integral,
        "SINCE": date_literal(since),
        "CURRENCIES": currency_values(minor_units),
    }
    texts = [
        _VERSIONS,
        _LINES,
        _KEYED_DUCKDB if dialect == "duckdb" else _KEYED,
        _WINDOW,
        _PERIOD_CALENDAR,
        _PERIOD_CANDIDATES,
        _PERIODS,
        _REQUESTS,
        _DAYS,
        _CHANGES,
        _CHANGE_STEPS,
        _LIST_PRICES,
        _DISCOUNTS,
        _CONTRACT_LINES,
        _CHAIN,
        _FINDINGS,
    ]
    result = []
    for text in texts:
        for name, value in replacements.items():
            text = text.replace(name, value)
        result.append(text)
    return result


DROP_TABLES = [
    f"DROP TABLE IF EXISTS {name}"
    for name in (
        "leak_findings",
        "leak_chain",
        "leak_contract_lines",
        "leak_discounts",
        "leak_list_prices",
        "leak_change_steps",
        "leak_changes",
        "leak_days",
        "leak_requests",
        "leak_periods",
        "leak_period_candidates",
        "leak_period_calendar",
        "leak_window",
        "leak_keyed",
        "leak_lines",
        "leak_versions",
    )
]

# Contract versions with the day the next one starts, the billing cadence in months, the anchor
# month of quarterly and yearly periods (the month the contract's first version starts) and the
# last day of the term. An auto-renewing version renews as often as needed, so it never ends.
_VERSIONS = """
CREATE TEMPORARY TABLE leak_versions AS
SELECT
    v.id AS version_id,
    v.contract_id,
    v.effective_from,
    LEAD(v.effective_from) OVER (PARTITION BY v.contract_id ORDER BY v.effective_from)
        AS valid_until,
    MIN(v.effective_from) OVER (PARTITION BY v.contract_id) AS first_effective_from,
    v.currency,
    CASE v.cadence WHEN 'quarterly' THEN 3 WHEN 'yearly' THEN 12 ELSE 1 END AS step,
    COALESCE(v.billing_day, 1) AS billing_day,
    v.bill_to_id,
    v.price_list_id,
    CASE
        WHEN v.renewal_terms = 'auto_renew' AND COALESCE(v.renewal_months, 0) > 0 THEN NULL
        ELSE v.end_date
    END AS term_end
FROM registry_contractversion v
"""

# Imported lines with their invoice, the service day priced (service start, else issue date)
# and the amounts as integers. A credit note line counts against the invoices.
_LINES = """
CREATE TEMPORARY TABLE leak_lines AS
SELECT
    l.id AS line_id,
    i.id AS invoice_id,
    i.contract_id,
    i.currency,
    i.issue_date,
    i.document_type = 'credit_note' AS is_credit,
    l.line_code,
    l.service_start,
    COALESCE(l.service_end, l.service_start) AS service_end,
    COALESCE(l.service_start, i.issue_date) AS service_day,
    CAST(l.quantity * 10000 AS INTEGRAL) AS q4,
    CAST(l.unit_price * 1000000 AS INTEGRAL) AS p6,
    CASE WHEN i.document_type = 'credit_note' THEN -1 ELSE 1 END
        * CAST(abs(l.net_amount) * 1000 AS INTEGRAL) AS net_milli
FROM history_importedinvoiceline l
JOIN history_importedinvoice i ON i.id = l.invoice_id
WHERE SINCE IS NULL OR i.issue_date >= SINCE
"""

# One row per line, with the totals of its key: the contract, line code and service period.
# A line without a service period is its own key. The first invoice line of a key (by issue
# date) is the one priced. The other invoice lines of the key, net of its credit notes, are
# duplicates.
_KEYED = """
CREATE TEMPORARY TABLE leak_keyed AS
SELECT
    k.*,
    SUM(CASE WHEN k.is_credit THEN 0 ELSE 1 END) OVER line_key AS invoice_lines,
    SUM(CASE WHEN k.is_credit THEN 1 ELSE 0 END) OVER line_key AS credit_lines,
    SUM(k.net_milli) OVER line_key AS key_net_milli,
    ROW_NUMBER() OVER (
        PARTITION BY k.contract_id, k.line_code, k.service_start, k.service_end, k.solo
        ORDER BY k.is_credit, k.issue_date, k.line_id
    ) AS key_rank
FROM (
    SELECT
        l.*,
        CASE WHEN l.service_start IS NULL OR l.contract_id IS NULL THEN l.line_id ELSE 0 END
            AS solo
    FROM leak_lines l
) k
WINDOW line_key AS (PARTITION BY k.contract_id, k.line_code, k.service_start, k.service_end, k.solo)
"""

# The same rows of ``leak_keyed`` that the audit reads (the first invoice line of each key
# that has a contract), built by one hash aggregate in place of a sort over every line. The
# arg_min key orders the invoice lines of a key by issue date, then id, in one HUGEINT.
_KEYED_DUCKDB = """
CREATE TEMPORARY TABLE leak_keyed AS
SELECT
    f.*,
    k.invoice_lines,
    k.credit_lines,
    k.key_net_milli,
    1 AS key_rank
FROM (
    SELECT
        COUNT(*) FILTER (WHERE NOT is_credit) AS invoice_lines,
        COUNT(*) FILTER (WHERE is_credit) AS credit_lines,
        SUM(net_milli) AS key_net_milli,
        arg_min(
            line_id,
            CAST(issue_date - DATE '1970-01-01' AS HUGEINT) * 9223372036854775808 + line_id
        ) FILTER (WHERE NOT is_credit) AS first_line_id
    FROM leak_lines
    WHERE contract_id IS NOT NULL
    GROUP BY
        contract_id,
        line_code,
        service_start,
        service_end,
        CASE WHEN service_start IS NULL THEN line_id ELSE 0 END
) k
JOIN leak_lines f ON f.line_id = k.first_line_id
"""

# The audited window: from --since, else the first service day, to the last service day.
_WINDOW = """
CREATE TEMPORARY TABLE leak_window AS
SELECT
    COALESCE(SINCE, MIN(service_day)) AS first_day,
    MAX(service_end) AS last_day
FROM leak_lines
WHERE NOT is_credit
"""

# Every billing period that starts in the window, for each cadence, anchor month and billing
# day of a version. Its start month index is the anchor month plus a multiple of the cadence.
_PERIOD_CALENDAR = """
CREATE TEMPORARY TABLE leak_period_calendar AS
SELECT
    s.step,
    s.phase,
    s.billing_day,
    g.start_index,
    PERIOD_START AS period_start,
    PERIOD_END AS period_end
FROM (
    SELECT DISTINCT
        step,
        billing_day,
        (CAST(extract(month FROM first_effective_from) AS INTEGER) - 1) % step AS phase
    FROM leak_versions
) s
CROSS JOIN leak_window w
CROSS JOIN generate_series(
    WINDOW_FIRST_INDEX,
    WINDOW_LAST_INDEX
) AS g(start_index)
WHERE w.first_day IS NOT NULL AND (g.start_index - s.phase) % s.step = 0
"""

# Every whole billing period of a fixed recurring line inside the window and the term of the
# version in force at its start, with no invoice line of that line code overlapping it. Only
# contracts with at least one imported invoice count: the history does not cover the others.
# An invoice line that bills exactly the period covers it. So a hash join with ``leak_keyed``
# (one first row per contract, line code and service period) first removes most periods,
# leaving the candidates for the costlier overlap test of ``leak_periods``.
_PERIOD_CANDIDATES = """
CREATE TEMPORARY TABLE leak_period_candidates AS
WITH ranges AS (
    SELECT
        v.*,
        cl.id AS contract_line_id,
        cl.line_code,
        GREATEST(v.effective_from, w.first_day) AS range_start,
        LEAST(
            COALESCE(v.valid_until - 1, w.last_day),
            COALESCE(v.term_end, w.last_day),
            w.last_day
        ) AS range_last,
        (CAST(extract(month FROM v.first_effective_from) AS INTEGER) - 1) % v.step AS phase
    FROM leak_versions v
    JOIN registry_contractline cl ON cl.version_id = v.version_id
    JOIN (
        SELECT DISTINCT contract_id FROM leak_lines WHERE NOT is_credit
    ) billed ON billed.contract_id = v.contract_id
    CROSS JOIN leak_window w
    WHERE cl.kind = 'recurring_fixed' AND w.first_day IS NOT NULL
),
periods AS (
    SELECT r.*, c.start_index, c.period_start, c.period_end
    FROM ranges r
    JOIN leak_period_calendar c
        ON c.step = r.step
       AND c.phase = r.phase
       AND c.billing_day = r.billing_day
       AND c.period_start >= r.range_start
       AND c.period_start <= r.range_last
       AND c.period_end - 1 <= r.range_last
)
SELECT p.*
FROM periods p
LEFT JOIN leak_keyed k
    ON k.contract_id = p.contract_id
   AND k.line_code = p.line_code
   AND k.service_start = p.period_start
   AND k.service_end = p.period_end - 1
   AND k.key_rank = 1
   AND NOT k.is_credit
WHERE k.line_id IS NULL
"""

# The candidates with no invoice line overlapping them. They are a table of their own, so that
# PostgreSQL plans this anti-join knowing how few they are.
_PERIODS = """
CREATE TEMPORARY TABLE leak_periods AS
SELECT p.*
FROM leak_period_candidates p
WHERE NOT EXISTS (
    SELECT 1
    FROM leak_lines l
    WHERE l.contract_id = p.contract_id
      AND l.line_code = p.line_code
      AND NOT l.is_credit
      AND l.service_start < p.period_end
      AND l.service_end >= p.period_start
)
"""

# The requests to price: the first invoice line of each key that has a contract, and each
# missed period. ``day`` picks the terms, ``service_start`` and ``service_end`` the proration.
_REQUESTS = """
CREATE TEMPORARY TABLE leak_requests AS
SELECT
    ROW_NUMBER() OVER () AS req_id,
    u.*,
    (CAST(extract(month FROM u.first_effective_from) AS INTEGER) - 1) % u.step AS phase
FROM (
    SELECT
        'line' AS source,
        k.line_id,
        k.invoice_id,
        k.contract_id,
        k.currency AS billed_currency,
        k.line_code,
        k.service_day AS day,
        k.service_start,
        k.service_end,
        k.q4 AS billed_q4,
        k.p6 AS billed_p6,
        k.net_milli AS first_net_milli,
        k.key_net_milli,
        k.invoice_lines,
        k.credit_lines,
        v.version_id,
        v.first_effective_from,
        v.term_end,
        v.currency,
        v.step,
        v.billing_day,
        v.price_list_id
    FROM leak_keyed k
    LEFT JOIN leak_versions v
        ON v.contract_id = k.contract_id
       AND v.effective_from <= k.service_day
       AND (v.valid_until IS NULL OR k.service_day < v.valid_until)
    WHERE k.key_rank = 1 AND NOT k.is_credit AND k.contract_id IS NOT NULL
    UNION ALL
    SELECT
        'period',
        NULL,
        NULL,
        p.contract_id,
        p.currency,
        p.line_code,
        p.period_start,
        p.period_start,
        p.period_end - 1,
        NULL,
        NULL,
        0,
        0,
        0,
        0,
        p.version_id,
        p.first_effective_from,
        p.term_end,
        p.currency,
        p.step,
        p.billing_day,
        p.price_list_id
    FROM leak_periods p
) u
"""

# Scheduled price changes with a factor (a fixed uplift, or an index with both values
# recorded), numbered per version and line in the order registry.pricing applies them.
_CHANGES = """
CREATE TEMPORARY TABLE leak_changes AS
SELECT
    c.version_id,
    c.line_code,
    c.effective_on,
    c.kind,
    CAST(COALESCE(c.uplift_percent, 0) * 10000 AS INTEGRAL) AS u4,
    CAST(c.index_value * 10000 AS INTEGRAL) AS iv4,
    CAST(c.index_base_value * 10000 AS INTEGRAL) AS ibv4,
    ROW_NUMBER() OVER (PARTITION BY c.version_id, c.line_code ORDER BY c.effective_on, c.id)
        AS seq
FROM registry_scheduledpricechange c
WHERE c.kind = 'fixed_uplift'
   OR (c.index_value IS NOT NULL AND c.index_base_value IS NOT NULL AND c.index_base_value <> 0)
"""

# The number of changes due on a day, as date ranges: from the day of change ``due_changes``
# up to, not including, the next change. Two changes on one day leave an empty range.
_CHANGE_STEPS = """
CREATE TEMPORARY TABLE leak_change_steps AS
SELECT
    version_id,
    line_code,
    seq AS due_changes,
    effective_on AS step_from,
    LEAD(effective_on) OVER (PARTITION BY version_id, line_code ORDER BY seq) AS step_until
FROM leak_changes
UNION ALL
SELECT version_id, line_code, 0, NULL, MIN(effective_on)
FROM leak_changes
GROUP BY version_id, line_code
"""

# The price list item in force for the requests whose contract line has no unit price: the
# one with the latest valid_from, as registry.pricing.price_list_item_on picks it.
_LIST_PRICES = """
CREATE TEMPORARY TABLE leak_list_prices AS
SELECT req_id, p6
FROM (
    SELECT
        r.req_id,
        CAST(pli.unit_price * 1000000 AS INTEGRAL) AS p6,
        ROW_NUMBER() OVER (PARTITION BY r.req_id ORDER BY pli.valid_from DESC, pli.id) AS rn
    FROM leak_requests r
    JOIN registry_contractline cl
        ON cl.version_id = r.version_id AND cl.line_code = r.line_code
    JOIN registry_pricelistitem pli
        ON pli.price_list_id = r.price_list_id
       AND pli.product_code = cl.product_code
       AND pli.valid_from <= r.day
       AND (pli.valid_to IS NULL OR r.day < pli.valid_to)
    WHERE cl.unit_price IS NULL
) x
WHERE rn = 1
"""

# The approved discount in force, as registry.pricing.approved_discount picks it: the line's
# own discount with the lowest id, else the general one with the highest id.
_DISCOUNTS = """
CREATE TEMPORARY TABLE leak_discounts AS
SELECT req_id, d4
FROM (
    SELECT
        r.req_id,
        CAST(d.percent * 10000 AS INTEGRAL) AS d4,
        ROW_NUMBER() OVER (
            PARTITION BY r.req_id
            ORDER BY
                CASE WHEN d.line_code = '' THEN 1 ELSE 0 END,
                CASE WHEN d.line_code = '' THEN -d.id ELSE d.id END
        ) AS rn
    FROM leak_requests r
    JOIN registry_discount d
        ON d.version_id = r.version_id
       AND (d.line_code = r.line_code OR d.line_code = '')
       AND (d.expires_on IS NULL OR r.day <= d.expires_on)
) x
WHERE rn = 1
"""

# The billing period containing each day that a request prices, computed once per distinct
# day and cadence instead of once per request.
_DAYS = """
CREATE TEMPORARY TABLE leak_days AS
SELECT
    d.*,
    BILLING_START AS billing_start,
    BILLING_END AS billing_end
FROM (
    SELECT x.*, PERIOD_OF_DAY AS billing_start_index
    FROM (
        SELECT DISTINCT step, phase, billing_day, day
        FROM leak_requests
        WHERE step IS NOT NULL
    ) x
) d
"""

# The contract lines with their quantity and unit price as integers, converted once per
# contract line instead of once per request.
_CONTRACT_LINES = """
CREATE TEMPORARY TABLE leak_contract_lines AS
SELECT
    cl.id AS contract_line_id,
    cl.version_id,
    cl.line_code,
    cl.kind,
    cl.product_code,
    CAST(COALESCE(cl.quantity, 1) * 10000 AS INTEGRAL) AS contract_q4,
    CAST(cl.unit_price * 1000000 AS INTEGRAL) AS p6
FROM registry_contractline cl
"""

# The base price and the price after each change, rounded to 4 decimals after each one as
# registry.pricing.price_on rounds, for every base price that a request can need on a line
# with scheduled changes: the line's unit price, or the list price found for a request. A
# request with no change due pays its base price and needs no chain.
_CHAIN = """
CREATE TEMPORARY TABLE leak_chain AS
WITH RECURSIVE
changed AS (
    SELECT DISTINCT version_id, line_code FROM leak_changes
),
chain_keys AS (
    SELECT cl.version_id, cl.line_code, cl.p6 AS base_p6
    FROM leak_contract_lines cl
    JOIN changed USING (version_id, line_code)
    WHERE cl.p6 IS NOT NULL
    UNION
    SELECT r.version_id, r.line_code, lp.p6
    FROM leak_list_prices lp
    JOIN leak_requests r ON r.req_id = lp.req_id
    JOIN changed USING (version_id, line_code)
),
chain (version_id, line_code, base_p6, step_number, p6) AS (
    SELECT version_id, line_code, base_p6, 0, base_p6
    FROM chain_keys
    UNION ALL
    SELECT
        c.version_id,
        c.line_code,
        c.base_p6,
        c.step_number + 1,
        100 * CASE WHEN ch.kind = 'fixed_uplift' THEN RHU_UPLIFT ELSE RHU_INDEX END
    FROM chain c
    JOIN leak_changes ch
        ON ch.version_id = c.version_id
       AND ch.line_code = c.line_code
       AND ch.seq = c.step_number + 1
)
SELECT * FROM chain
"""

# The expected amount of each request, as billing.drafting._make_line computes a line. It is
# the quantity (the contract's for a fixed line, else the billed one) times the price, less
# the approved discount. A fixed line that covers part of its billing period is prorated by
# actual days, and the result is rounded once to the currency's minor unit. These common
# table expressions open the statement of the findings, so the priced requests are never
# written to a table: only those with a finding are kept, in ``flagged``.
_PRICED = """
terms AS (
    SELECT
        r.*,
        cl.contract_line_id,
        cl.kind,
        cl.contract_q4,
        COALESCE(cl.p6, lp.p6) AS base_p6,
        COALESCE(s.due_changes, 0) AS due_changes,
        d.d4 AS discount_d4,
        cal.billing_start,
        cal.billing_end
    FROM leak_requests r
    LEFT JOIN leak_contract_lines cl
        ON cl.version_id = r.version_id AND cl.line_code = r.line_code
    LEFT JOIN leak_list_prices lp ON lp.req_id = r.req_id
    LEFT JOIN leak_discounts d ON d.req_id = r.req_id
    LEFT JOIN leak_change_steps s
        ON s.version_id = r.version_id
       AND s.line_code = r.line_code
       AND (s.step_from IS NULL OR s.step_from <= r.day)
       AND (s.step_until IS NULL OR r.day < s.step_until)
    LEFT JOIN leak_days cal
        ON cal.step = r.step
       AND cal.phase = r.phase
       AND cal.billing_day = r.billing_day
       AND cal.day = r.day
),
earliest AS (
    SELECT version_id, line_code, base_p6, p6, MIN(step_number) AS first_step
    FROM leak_chain
    GROUP BY version_id, line_code, base_p6, p6
),
measured AS (
    SELECT
        b.source,
        b.line_id,
        b.invoice_id,
        b.contract_id,
        b.billed_currency,
        b.line_code,
        b.day,
        b.service_start,
        b.service_end,
        b.billed_q4,
        b.billed_p6,
        b.first_net_milli,
        b.key_net_milli,
        b.invoice_lines,
        b.credit_lines,
        b.version_id,
        b.term_end,
        b.currency,
        b.contract_line_id,
        b.kind,
        b.discount_d4,
        CASE
            WHEN b.kind = 'recurring_fixed' AND b.service_start IS NOT NULL
                THEN LEAST(b.service_end + 1, b.billing_end) - b.service_start
            ELSE 1
        END AS covered_days,
        CASE
            WHEN b.kind = 'recurring_fixed' AND b.service_start IS NOT NULL
                THEN b.billing_end - b.billing_start
            ELSE 1
        END AS period_days,
        CASE WHEN b.kind = 'recurring_fixed' THEN b.contract_q4 ELSE b.billed_q4 END
            AS expected_q4,
        COALESCE(c.scale, 100) AS scale,
        COALESCE(c.milli_per_minor, 10) AS milli_per_minor,
        CASE WHEN b.due_changes = 0 THEN b.base_p6 ELSE ch.p6 END AS expected_p6,
        COALESCE(e.first_step < b.due_changes, FALSE) AS billed_earlier_price
    FROM terms b
    LEFT JOIN leak_chain ch
        ON ch.version_id = b.version_id
       AND ch.line_code = b.line_code
       AND ch.base_p6 = b.base_p6
       AND ch.step_number = b.due_changes
    LEFT JOIN earliest e
        ON e.version_id = b.version_id
       AND e.line_code = b.line_code
       AND e.base_p6 = b.base_p6
       AND e.p6 = b.billed_p6
    LEFT JOIN CURRENCIES ON c.code = b.currency
),
fractions AS (
    SELECT
        m.*,
        m.expected_q4 * m.expected_p6 * (1000000 - COALESCE(m.discount_d4, 0))
            * m.covered_days * m.scale AS numerator,
        CAST(10000000000000000 AS INTEGRAL) * m.period_days AS denominator
    FROM measured m
),
priced AS (
    SELECT
        f.*,
        f.milli_per_minor * RHU_EXPECTED AS expected_milli
    FROM fractions f
)
"""

_FINDINGS = """
CREATE TEMPORARY TABLE leak_findings AS
WITH
PRICED_EXPRESSIONS,
line_checks AS (
    SELECT
        p.*,
        p.source = 'line' AND p.invoice_lines - p.credit_lines >= 2 AS duplicated,
        CASE WHEN p.invoice_lines - p.credit_lines >= 2 THEN p.first_net_milli
             ELSE p.key_net_milli END AS billed_milli
    FROM priced p
),
classified AS (
    SELECT
        l.*,
        CASE
            WHEN l.source = 'period' THEN NULL
            WHEN l.version_id IS NULL THEN 'CONTRACT_NOT_ACTIVE'
            WHEN l.term_end IS NOT NULL AND l.day > l.term_end THEN 'CONTRACT_EXPIRED'
            WHEN l.billed_currency <> l.currency THEN 'CURRENCY_MISMATCH'
            WHEN l.contract_line_id IS NULL THEN 'CONTRACT_LINE_NOT_FOUND'
            WHEN l.expected_p6 IS NULL THEN 'CONTRACT_PRICE_NOT_FOUND'
            WHEN l.expected_milli = l.billed_milli THEN NULL
            WHEN l.billed_p6 <> l.expected_p6 AND l.billed_earlier_price
                THEN 'ESCALATION_NOT_APPLIED'
            WHEN l.billed_p6 <> l.expected_p6 THEN 'PRICE_MISMATCH'
            WHEN l.kind = 'recurring_fixed' AND l.billed_q4 <> l.expected_q4
                THEN 'QUANTITY_MISMATCH'
            ELSE 'LINE_AMOUNT_MISMATCH'
        END AS code
    FROM line_checks l
),
flagged AS MATERIALIZED (
    SELECT *
    FROM classified c
    WHERE c.code IS NOT NULL
       OR c.duplicated
       OR (c.source = 'period' AND c.expected_milli IS NOT NULL)
)
SELECT
    c.code,
    CASE
        WHEN c.code IN ('PRICE_MISMATCH', 'ESCALATION_NOT_APPLIED', 'QUANTITY_MISMATCH',
                        'LINE_AMOUNT_MISMATCH')
            THEN CASE WHEN c.expected_milli > c.billed_milli THEN 'under' ELSE 'over' END
        ELSE 'at_risk'
    END AS direction,
    c.contract_id,
    c.invoice_id,
    c.line_id,
    c.line_code,
    c.billed_currency AS currency,
    c.service_start AS period_start,
    c.service_end AS period_end,
    CASE
        WHEN c.code IN ('PRICE_MISMATCH', 'ESCALATION_NOT_APPLIED', 'QUANTITY_MISMATCH',
                        'LINE_AMOUNT_MISMATCH')
            THEN c.expected_milli
    END AS expected_milli,
    c.billed_milli,
    CASE
        WHEN c.code IN ('PRICE_MISMATCH', 'ESCALATION_NOT_APPLIED', 'QUANTITY_MISMATCH',
                        'LINE_AMOUNT_MISMATCH')
            THEN abs(c.expected_milli - c.billed_milli)
        ELSE c.billed_milli
    END AS amount_milli
FROM flagged c
WHERE c.code IS NOT NULL
UNION ALL
SELECT
    'ALREADY_INVOICED', 'over', p.contract_id, p.invoice_id, p.line_id, p.line_code,
    p.billed_currency, p.service_start, p.service_end, p.first_net_milli, p.key_net_milli,
    p.key_net_milli - p.first_net_milli
FROM flagged p
WHERE p.duplicated
UNION ALL
SELECT
    'BILLING_PERIOD_MISSED', 'under', p.contract_id, NULL, NULL, p.line_code, p.currency,
    p.service_start, p.service_end, p.expected_milli, 0, p.expected_milli
FROM flagged p
WHERE p.source = 'period' AND p.expected_milli IS NOT NULL
UNION ALL
SELECT
    'CONTRACT_NOT_FOUND', 'at_risk', NULL, i.id, NULL, '', i.currency, NULL, NULL, NULL,
    CAST(i.line_extension * 1000 AS INTEGRAL), CAST(i.line_extension * 1000 AS INTEGRAL)
FROM history_importedinvoice i
WHERE i.contract_id IS NULL AND i.document_type = 'invoice'
  AND (SINCE IS NULL OR i.issue_date >= SINCE)
UNION ALL
SELECT
    'BILL_TO_MISMATCH', 'at_risk', i.contract_id, i.id, NULL, '', i.currency, NULL, NULL,
    NULL, CAST(i.line_extension * 1000 AS INTEGRAL), CAST(i.line_extension * 1000 AS INTEGRAL)
FROM history_importedinvoice i
JOIN (
    SELECT invoice_id, MIN(service_day) AS day FROM leak_lines GROUP BY invoice_id
) first_day ON first_day.invoice_id = i.id
JOIN leak_versions v
    ON v.contract_id = i.contract_id
   AND v.effective_from <= first_day.day
   AND (v.valid_until IS NULL OR first_day.day < v.valid_until)
WHERE i.document_type = 'invoice'
  AND i.bill_to_id IS NOT NULL
  AND v.bill_to_id IS NOT NULL
  AND i.bill_to_id <> v.bill_to_id
"""


def _fill_placeholders() -> None:
    """Expand the long expressions that the statements name by placeholder."""
    global _PERIOD_CALENDAR, _DAYS, _CHAIN, _FINDINGS
    _PERIOD_CALENDAR = (
        _PERIOD_CALENDAR.replace("WINDOW_FIRST_INDEX", month_index("w.first_day"))
        .replace("WINDOW_LAST_INDEX", month_index("w.last_day"))
        .replace("PERIOD_START", boundary("g.start_index", "s.billing_day"))
        .replace("PERIOD_END", boundary("g.start_index + s.step", "s.billing_day"))
    )
    _CHAIN = _CHAIN.replace(
        "RHU_UPLIFT", rhu("c.p6 * (1000000 + ch.u4)", "CAST(100000000 AS INTEGRAL)")
    ).replace("RHU_INDEX", rhu("c.p6 * ch.iv4", "ch.ibv4 * 100"))
    _DAYS = (
        _DAYS.replace(
            "PERIOD_OF_DAY", period_start_index("x.day", "x.step", "x.phase", "x.billing_day")
        )
        .replace("BILLING_START", boundary("d.billing_start_index", "d.billing_day"))
        .replace("BILLING_END", boundary("d.billing_start_index + d.step", "d.billing_day"))
    )
    priced = _PRICED.replace("RHU_EXPECTED", rhu("f.numerator", "f.denominator")).strip()
    _FINDINGS = _FINDINGS.replace("PRICED_EXPRESSIONS", priced)


_fill_placeholders()
