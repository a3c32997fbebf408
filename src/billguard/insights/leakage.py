"""The leakage audit: imported invoice history re-priced against the contract terms in force.

``leakage_audit`` runs the statements of ``leakage_sql`` and sums the findings per customer,
contract, finding code and currency, then lists the contracts to fix first: those whose
current version has no signed SOW document or leaves a mandatory field empty, ranked by the
amount invoiced under them and then by their credit notes (each one a dispute settled by
crediting the customer).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models

from billguard.domain.currencies import _MINOR_UNITS, minor_units
from billguard.domain.errors import InvalidInput
from billguard.domain.rounding import RoundingMode, round_decimal
from billguard.insights import leakage_sql
from billguard.insights.engines import Engine, audit_engine, run_statements
from billguard.registry.mandatory import FIELD_LABELS, MandatoryFields, mandatory_fields_load
from billguard.registry.models import ContractVersion

TOP_EXCEPTION_TYPES = 10


@dataclass(frozen=True)
class Money:
    """The findings of one group in one currency: their number and money by direction."""

    currency: str
    findings: int
    under_billed: Decimal
    over_billed: Decimal
    at_risk: Decimal

    @property
    def total(self) -> Decimal:
        return self.under_billed + self.over_billed + self.at_risk


@dataclass(frozen=True)
class GroupRow:
    """A customer, contract or finding code with its money in one currency."""

    key: str
    label: str
    money: Money


@dataclass(frozen=True)
class ExceptionType:
    code: str
    findings: int
    money: list[Money]


@dataclass(frozen=True)
class RemediationRow:
    rank: int
    contract: str
    customer: str
    currency: str
    invoiced: Decimal
    credit_notes: int
    credited: Decimal
    sow_missing: bool
    missing_fields: list[str]

    @property
    def codes(self) -> list[str]:
        codes = [leakage_sql.SOW_MISSING] if self.sow_missing else []
        if self.missing_fields:
            codes.append(leakage_sql.CONTRACT_FIELD_MISSING)
        return codes


@dataclass
class LeakageReport:
    since: dt.date | None
    first_day: dt.date | None
    last_day: dt.date | None
    backend: str
    totals: list[Money] = field(default_factory=list)
    by_code: list[GroupRow] = field(default_factory=list)
    by_customer: list[GroupRow] = field(default_factory=list)
    by_contract: list[GroupRow] = field(default_factory=list)
    top_exception_types: list[ExceptionType] = field(default_factory=list)
    remediation: list[RemediationRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    """One finding, with amounts in the currency's units (rounded to its minor unit)."""

    code: str
    direction: str
    contract: str
    invoice_id: int | None
    line_id: int | None
    line_code: str
    currency: str
    period_start: dt.date | None
    period_end: dt.date | None
    expected: Decimal | None
    billed: Decimal | None
    amount: Decimal


def leakage_audit(
    since: dt.date | None = None, *, with_findings: bool = False, engine_name: str = "auto"
) -> LeakageReport:
    """Re-price the imported history issued on or after ``since`` (all of it when None).

    ``with_findings`` also returns every finding, which the tests compare line by line; the
    report itself only sums them. ``engine_name`` picks where the SQL runs (see
    ``engines.audit_engine``).
    """
    mandatory = mandatory_fields_load()
    with audit_engine(engine_name) as engine:
        run_statements(engine, leakage_sql.DROP_TABLES)
        run_statements(engine, leakage_sql.statements(engine.dialect, since, _currencies()))
        window = engine.fetch("SELECT first_day, last_day FROM leak_window")
        report = LeakageReport(
            since=since,
            first_day=_as_date(window[0][0]) if window else None,
            last_day=_as_date(window[0][1]) if window else None,
            backend=engine.dialect,
        )
        report.by_code = _groups(engine, _BY_CODE)
        report.by_customer = _groups(engine, _BY_CUSTOMER)
        report.by_contract = _groups(engine, _BY_CONTRACT)
        report.remediation = _remediation(engine, since, mandatory)
        if with_findings:
            report.findings = _findings(engine)
        run_statements(engine, leakage_sql.DROP_TABLES)
    report.totals = _totals(report.by_code)
    report.top_exception_types = _top_exception_types(report.by_code)
    return report


def _currencies() -> list[tuple[str, int]]:
    return sorted(_MINOR_UNITS.items())


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def money_of(milli: Any, currency: str) -> Decimal:
    """Convert thousandths of a currency unit to an amount rounded to the currency's decimals."""
    exact = Decimal(int(milli)).scaleb(-3)
    try:
        decimals = minor_units(currency)
    except InvalidInput:  # an imported invoice in a code that ISO 4217 does not list
        decimals = 2
    return round_decimal(exact, decimals, RoundingMode.HALF_UP)


_SUMS = """
    COUNT(*),
    SUM(CASE WHEN f.direction = 'under' THEN f.amount_milli ELSE 0 END),
    SUM(CASE WHEN f.direction = 'over' THEN f.amount_milli ELSE 0 END),
    SUM(CASE WHEN f.direction = 'at_risk' THEN f.amount_milli ELSE 0 END)
"""

_BY_CODE = f"""
SELECT f.code, f.code, f.currency, {_SUMS}
FROM leak_findings f
GROUP BY f.code, f.currency
"""  # noqa: S608 (the text is built from constants only)

_BY_CUSTOMER = f"""
SELECT
    COALESCE(CAST(COALESCE(ct.party_id, i.party_id) AS VARCHAR(20)), 'name:' || i.customer_name),
    COALESCE(pa.name, i.customer_name),
    f.currency,
    {_SUMS}
FROM leak_findings f
LEFT JOIN registry_contract ct ON ct.id = f.contract_id
LEFT JOIN history_importedinvoice i ON i.id = f.invoice_id
LEFT JOIN registry_party pa ON pa.id = COALESCE(ct.party_id, i.party_id)
GROUP BY 1, 2, f.currency
"""  # noqa: S608 (the text is built from constants only)

_BY_CONTRACT = f"""
SELECT COALESCE(ct.number, ''), COALESCE(ct.number, '(no contract)'), f.currency, {_SUMS}
FROM leak_findings f
LEFT JOIN registry_contract ct ON ct.id = f.contract_id
GROUP BY ct.number, f.currency
"""  # noqa: S608 (the text is built from constants only)


def _groups(engine: Engine, sql: str) -> list[GroupRow]:
    rows = []
    for key, label, currency, count, under, over, at_risk in engine.fetch(sql):
        money = Money(
            currency,
            int(count),
            money_of(under, currency),
            money_of(over, currency),
            money_of(at_risk, currency),
        )
        rows.append(GroupRow(str(key), str(label or ""), money))
    rows.sort(key=lambda row: (row.money.currency, -row.money.total, row.label))
    return rows


def _totals(by_code: list[GroupRow]) -> list[Money]:
    sums: dict[str, list[Any]] = {}
    for row in by_code:
        money = row.money
        current = sums.setdefault(money.currency, [0, Decimal(0), Decimal(0), Decimal(0)])
        current[0] += money.findings
        current[1] += money.under_billed
        current[2] += money.over_billed
        current[3] += money.at_risk
    return [Money(currency, *values) for currency, values in sorted(sums.items())]


def _top_exception_types(by_code: list[GroupRow]) -> list[ExceptionType]:
    """Rank the finding codes by their number of findings, then by code."""
    money: dict[str, list[Money]] = defaultdict(list)
    for row in by_code:
        money[row.key].append(row.money)
    ranked = sorted(money.items(), key=lambda item: (-sum(m.findings for m in item[1]), item[0]))
    return [
        ExceptionType(code, sum(m.findings for m in amounts), amounts)
        for code, amounts in ranked[:TOP_EXCEPTION_TYPES]
    ]


def _findings(engine: Engine) -> list[Finding]:
    rows = engine.fetch(
        """
        SELECT f.code, f.direction, COALESCE(ct.number, ''), f.invoice_id, f.line_id,
               f.line_code, f.currency, f.period_start, f.period_end, f.expected_milli,
               f.billed_milli, f.amount_milli
        FROM leak_findings f
        LEFT JOIN registry_contract ct ON ct.id = f.contract_id
        ORDER BY f.code, ct.number, f.line_code, f.period_start, f.invoice_id
        """
    )
    found = []
    for row in rows:
        code, direction, contract, invoice_id, line_id, line_code, currency = row[:7]
        start, end, expected, billed, amount = row[7:]
        found.append(
            Finding(
                code=code,
                direction=direction,
                contract=contract,
                invoice_id=invoice_id,
                line_id=line_id,
                line_code=line_code or "",
                currency=currency,
                period_start=_as_date(start),
                period_end=_as_date(end),
                expected=None if expected is None else money_of(expected, currency),
                billed=None if billed is None else money_of(billed, currency),
                amount=money_of(amount, currency),
            )
        )
    return found


# ---------------------------------------------------------------------------------------------
# Remediation


def _empty_test(name: str) -> str:
    """Return SQL that is true when the version column of field ``name`` is empty."""
    model_field = ContractVersion._meta.get_field(name)
    column = f"v.{model_field.column}"  # type: ignore[union-attr]
    if isinstance(model_field, models.CharField | models.TextField):
        return f"({column} IS NULL OR {column} = '')"
    return f"({column} IS NULL)"


def _missing_fields_sql(mandatory: MandatoryFields) -> str:
    """Return SQL listing the empty mandatory fields of a version, comma-separated.

    The SOW document has its own code, SOW_MISSING, so it is left out of the list.
    """

    def listing(names: tuple[str, ...]) -> str:
        tests = [
            f"CASE WHEN {_empty_test(name)} THEN '{name}' END"
            for name in names
            if name != "sow_document"
        ]
        return f"concat_ws(',', {', '.join(tests)})" if tests else "''"

    return _by_contract_type(mandatory, listing)


def _sow_required_sql(mandatory: MandatoryFields) -> str:
    """Return SQL that is true when the contract's type makes the SOW document mandatory."""
    return _by_contract_type(
        mandatory, lambda names: "TRUE" if "sow_document" in names else "FALSE"
    )


def _by_contract_type(mandatory: MandatoryFields, branch: Callable[[tuple[str, ...]], str]) -> str:
    """Return a SQL CASE on the contract type with ``branch`` of each type's mandatory fields."""
    branches = " ".join(
        f"WHEN '{contract_type}' THEN {branch(names)}"
        for contract_type, names in sorted(mandatory.by_contract_type.items())
        if contract_type.isidentifier()
    )
    return f"(CASE ct.contract_type {branches} ELSE {branch(mandatory.otherwise)} END)"


def _remediation(
    engine: Engine, since: dt.date | None, mandatory: MandatoryFields
) -> list[RemediationRow]:
    since_sql = leakage_sql.date_literal(since)
    rows = engine.fetch(
        f"""
        WITH latest AS (
            SELECT
                v.*,
                ROW_NUMBER() OVER (PARTITION BY v.contract_id ORDER BY v.effective_from DESC)
                    AS newest
            FROM registry_contractversion v
        ),
        billed AS (
            SELECT
                i.contract_id,
                i.currency,
                SUM(CASE WHEN i.document_type = 'invoice'
                         THEN CAST(i.line_extension * 1000 AS {_integral(engine)}) ELSE 0 END)
                    AS invoiced_milli,
                SUM(CASE WHEN i.document_type = 'credit_note' THEN 1 ELSE 0 END) AS credit_notes,
                SUM(CASE WHEN i.document_type = 'credit_note'
                         THEN CAST(abs(i.line_extension) * 1000 AS {_integral(engine)})
                         ELSE 0 END) AS credited_milli
            FROM history_importedinvoice i
            WHERE i.contract_id IS NOT NULL
              AND ({since_sql} IS NULL OR i.issue_date >= {since_sql})
            GROUP BY i.contract_id, i.currency
        ),
        flagged AS (
            SELECT
                ct.number,
                pa.name AS customer,
                COALESCE(b.currency, v.currency) AS currency,
                COALESCE(b.invoiced_milli, 0) AS invoiced_milli,
                COALESCE(b.credit_notes, 0) AS credit_notes,
                COALESCE(b.credited_milli, 0) AS credited_milli,
                (
                    (v.sow_document_id IS NOT NULL AND doc.signed_on IS NULL)
                    OR (v.sow_document_id IS NULL AND {_sow_required_sql(mandatory)})
                ) AS sow_missing,
                {_missing_fields_sql(mandatory)} AS missing_fields
            FROM registry_contract ct
            JOIN latest v ON v.contract_id = ct.id AND v.newest = 1
            JOIN registry_party pa ON pa.id = ct.party_id
            LEFT JOIN registry_document doc ON doc.id = v.sow_document_id
            LEFT JOIN billed b ON b.contract_id = ct.id
        )
        SELECT number, customer, currency, invoiced_milli, credit_notes, credited_milli,
               sow_missing, missing_fields
        FROM flagged
        WHERE sow_missing OR missing_fields <> ''
        ORDER BY currency, invoiced_milli DESC, credit_notes DESC, number
        """  # noqa: S608 (a date literal and SQL built from model field names)
    )
    ranked = []
    rank_in_currency: dict[str, int] = defaultdict(int)
    for number, customer, currency, invoiced, credit_notes, credited, sow, missing in rows:
        rank_in_currency[currency] += 1
        ranked.append(
            RemediationRow(
                rank=rank_in_currency[currency],
                contract=number,
                customer=customer,
                currency=currency,
                invoiced=money_of(invoiced, currency),
                credit_notes=int(credit_notes),
                credited=money_of(credited, currency),
                sow_missing=bool(sow),
                missing_fields=[
                    FIELD_LABELS.get(name, name) for name in missing.split(",") if name
                ],
            )
        )
    return ranked


def _integral(engine: Engine) -> str:
    return "numeric" if engine.dialect == "postgresql" else "hugeint"
