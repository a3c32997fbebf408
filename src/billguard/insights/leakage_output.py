"""The leakage report as a text table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

from billguard.insights.leakage import GroupRow, LeakageReport, Money, RemediationRow

FORMATS = ("table", "json", "csv")
CSV_COLUMNS = (
    "section",
    "rank",
    "key",
    "label",
    "currency",
    "findings",
    "under_billed",
    "over_billed",
    "at_risk",
    "total",
    "invoiced",
    "credit_notes",
    "credited",
    "problems",
)


def render(report: LeakageReport, output_format: str, top: int | None) -> str:
    """Render ``report``; ``top`` limits the customer, contract and remediation lists."""
    if output_format == "json":
        return json.dumps(as_json(report, top), indent=2) + "\n"
    if output_format == "csv":
        return as_csv(report, top)
    return as_table(report, top)


def _limited(rows: list[Any], top: int | None) -> list[Any]:
    return rows if top is None else rows[:top]


def _money_json(money: Money) -> dict[str, Any]:
    return {
        "currency": money.currency,
        "findings": money.findings,
        "under_billed": str(money.under_billed),
        "over_billed": str(money.over_billed),
        "at_risk": str(money.at_risk),
        "total": str(money.total),
    }


def _group_json(row: GroupRow) -> dict[str, Any]:
    return {"key": row.key, "label": row.label, **_money_json(row.money)}


def _remediation_json(row: RemediationRow) -> dict[str, Any]:
    return {
        "rank": row.rank,
        "contract": row.contract,
        "customer": row.customer,
        "currency": row.currency,
        "invoiced": str(row.invoiced),
        "credit_notes": row.credit_notes,
        "credited": str(row.credited),
        "codes": row.codes,
        "missing_fields": row.missing_fields,
    }


def as_json(report: LeakageReport, top: int | None) -> dict[str, Any]:
    return {
        "since": report.since.isoformat() if report.since else None,
        "history_from": report.first_day.isoformat() if report.first_day else None,
        "history_to": report.last_day.isoformat() if report.last_day else None,
        "engine": report.backend,
        "totals": [_money_json(money) for money in report.totals],
        "by_code": [_group_json(row) for row in report.by_code],
        "by_customer": [_group_json(row) for row in _limited(report.by_customer, top)],
        "by_contract": [_group_json(row) for row in _limited(report.by_contract, top)],
        "top_exception_types": [
            {
                "code": kind.code,
                "findings": kind.findings,
                "money": [_money_json(money) for money in kind.money],
            }
            for kind in report.top_exception_types
        ],
        "remediation": [_remediation_json(row) for row in _limited(report.remediation, top)],
    }


def as_csv(report: LeakageReport, top: int | None) -> str:
    """Render the report as CSV: one row per group and currency, with a ``section`` column."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for money in report.totals:
        writer.writerow({"section": "total", **_money_csv(money)})
    sections = (
        ("code", report.by_code),
        ("customer", _limited(report.by_customer, top)),
        ("contract", _limited(report.by_contract, top)),
    )
    for section, rows in sections:
        for row in rows:
            writer.writerow(
                {"section": section, "key": row.key, "label": row.label, **_money_csv(row.money)}
            )
    for rank, kind in enumerate(report.top_exception_types, start=1):
        for money in kind.money:
            writer.writerow(
                {"section": "top_exception_type", "rank": rank, "key": kind.code}
                | _money_csv(money)
            )
    for item in _limited(report.remediation, top):
        writer.writerow(
            {
                "section": "remediation",
                "rank": item.rank,
                "key": item.contract,
                "label": item.customer,
                "currency": item.currency,
                "invoiced": item.invoiced,
                "credit_notes": item.credit_notes,
                "credited": item.credited,
                "problems": "; ".join(_problems(item)),
            }
        )
    return buffer.getvalue()


def _money_csv(money: Money) -> dict[str, Any]:
    return {
        "currency": money.currency,
        "findings": money.findings,
        "under_billed": money.under_billed,
        "over_billed": money.over_billed,
        "at_risk": money.at_risk,
        "total": money.total,
    }


def _problems(row: RemediationRow) -> list[str]:
    problems = ["no signed SOW document"] if row.sow_missing else []
    problems += [f"{label} missing" for label in row.missing_fields]
    return problems


# ---------------------------------------------------------------------------------------------
# Text table


def _amount(value: Decimal) -> str:
    return f"{value:,f}"


def _table(headers: list[str], rows: list[list[str]], numeric_from: int) -> list[str]:
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(width) if index >= numeric_from else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * width for width in widths]), *map(line, rows)]


def _money_cells(money: Money) -> list[str]:
    return [
        money.currency,
        str(money.findings),
        _amount(money.under_billed),
        _amount(money.over_billed),
        _amount(money.at_risk),
    ]


_MONEY_HEADERS = ["currency", "findings", "under-billed", "over-billed", "at risk"]


def as_table(report: LeakageReport, top: int | None) -> str:
    window = (
        f"{report.first_day} to {report.last_day}"
        if report.first_day and report.last_day
        else "no imported invoices"
    )
    out = [f"Leakage audit of the imported invoice history ({window})", ""]
    if not report.totals:
        out.append("No findings: every imported invoice matches its contract terms.")
    else:
        out += ["Totals", *_table(_MONEY_HEADERS, [_money_cells(m) for m in report.totals], 1)]
        sections = (
            ("By finding code", "code", report.by_code),
            ("By customer", "customer", _limited(report.by_customer, top)),
            ("By contract", "contract", _limited(report.by_contract, top)),
        )
        for title, header, rows in sections:
            shown = [[row.label, *_money_cells(row.money)] for row in rows]
            out += ["", title, *_table([header, *_MONEY_HEADERS], shown, 2)]
        ranked = [
            [str(rank), kind.code, str(kind.findings), _money_list(kind.money)]
            for rank, kind in enumerate(report.top_exception_types, start=1)
        ]
        out += ["", "Top exception types", *_table(["#", "code", "findings", "money"], ranked, 4)]
    out += ["", "Contracts to fix first (no signed SOW document or an empty mandatory field)"]
    remediation = _limited(report.remediation, top)
    if not remediation:
        out.append(
            "None: every contract has a signed SOW document where one is needed and "
            "every mandatory field."
        )
    else:
        remediation_rows = [
            [
                str(item.rank),
                item.contract,
                item.customer,
                item.currency,
                _amount(item.invoiced),
                str(item.credit_notes),
                "; ".join(_problems(item)),
            ]
            for item in remediation
        ]
        headers = ["rank", "contract", "customer", "currency", "invoiced", "credit notes", "fix"]
        out += _table(headers, remediation_rows, 99)
    hidden = len(report.remediation) - len(remediation)
    if hidden > 0:
        out.append(f"... and {hidden} more (--top 0 lists them all)")
    return "\n".join(out) + "\n"


def _money_list(amounts: list[Money]) -> str:
    return ", ".join(f"{money.currency} {_amount(money.total)}" for money in amounts)
