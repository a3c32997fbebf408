"""The gate report of a billing run (and of guard-mode checks): what was issued, what was
held and why, with the money at stake per finding code and currency."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from billguard.billing.run import RunResult
from billguard.checks.finding import Finding
from billguard.checks.guard import GuardResult


def run_report(result: RunResult, guard_results: list[GuardResult] | None = None) -> dict[str, Any]:
    """Build the report as plain data, shared by the printed table and the JSON file."""
    findings: list[tuple[str, Finding]] = [
        (outcome.contract_number, finding)
        for outcome in result.outcomes
        for finding in outcome.findings
    ]
    guard = guard_results or []
    findings += [(g.contract_number, f) for g in guard for f in g.findings]
    return {
        "period": result.period.label,
        "billing_run": result.billing_run_id,
        "dry_run": result.dry_run,
        "contracts_considered": result.contracts_considered,
        "invoices_issued": len(result.issued),
        "issued_total": totals_by_currency(result.issued),
        "held_total": totals_by_currency(result.held),
        "invoices_held": len(result.held),
        "already_issued": result.already_issued,
        "nothing_to_bill": result.nothing_to_bill,
        "chunks": result.chunks,
        "chunks_retried": result.retried_chunks,
        "findings_by_code": findings_by_code(findings),
        "held": [
            {
                "contract": o.contract_number,
                "payable": o.payable,
                "currency": o.currency,
                "blocking": sorted({f.code for f in o.findings if f.blocks}),
            }
            for o in result.held
        ],
        # Drafts whose blocking findings were only observed, because the policy runs their
        # checks in observe mode: they were issued (or held by another finding).
        "observed": [
            {
                "contract": o.contract_number,
                "status": o.status,
                "payable": o.payable,
                "currency": o.currency,
                "observed": sorted({f.code for f in o.findings if f.observed}),
            }
            for o in result.outcomes
            if any(f.observed for f in o.findings)
        ],
        "external_drafts": [
            {
                "source": g.document.source,
                "contract": g.contract_number,
                "blocked": g.blocked,
                "findings": [f.as_dict() for f in g.findings],
            }
            for g in guard
        ],
        "findings": [{"contract": contract, **finding.as_dict()} for contract, finding in findings],
    }


def stored_report(report: dict[str, Any]) -> dict[str, Any]:
    """Return ``report`` without its list of every finding, as a completed run stores it.

    The findings stay counted by code in ``findings_by_code``. The full list has one item per
    finding, so it is left out, and run_result_load rebuilds it from the chunks.
    """
    return {key: value for key, value in report.items() if key != "findings"}


def findings_by_code(findings: list[tuple[str, Finding]]) -> list[dict[str, Any]]:
    """Count and money at stake per finding code; sums stay per currency, never converted.

    Observed findings of a code (recorded in observe mode) get a row of their own.
    """
    counts: dict[tuple[str, bool], int] = defaultdict(int)
    severities: dict[tuple[str, bool], str] = {}
    money: dict[tuple[str, bool], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for _, finding in findings:
        key = (finding.code, finding.observed)
        counts[key] += 1
        severities[key] = finding.severity.value
        if finding.amount_at_stake is not None:
            money[key][finding.amount_at_stake.currency] += abs(finding.amount_at_stake.amount)
    return [
        {
            "code": key[0],
            "severity": severities[key],
            "observed": key[1],
            "count": counts[key],
            "amount_at_stake": {c: str(a) for c, a in sorted(money[key].items())},
        }
        for key in sorted(counts, key=lambda k: (-counts[k], k))
    ]


def totals_by_currency(outcomes: list[Any]) -> dict[str, str]:
    """Payable amounts (tax included) added up per currency, never converted."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for outcome in outcomes:
        totals[outcome.currency] += Decimal(outcome.payable)
    return {currency: str(amount) for currency, amount in sorted(totals.items())}


def format_report(report: dict[str, Any]) -> str:
    issued = "invoices clean (would issue)" if report["dry_run"] else "invoices issued"
    lines = [
        f"Billing run {report['billing_run'] or '(dry run)'} for {report['period']}",
        f"  contracts considered   {report['contracts_considered']:>6}",
        f"  {issued:<23}{report['invoices_issued']:>6}  {_money(report['issued_total'])}",
        f"  invoices held          {report['invoices_held']:>6}  {_money(report['held_total'])}",
        f"  already issued before  {report['already_issued']:>6}",
        f"  nothing to bill        {report['nothing_to_bill']:>6}",
        f"  chunks retried         {report['chunks_retried']:>6} of {report['chunks']}",
        "",
    ]
    if report["findings_by_code"]:
        lines.append(f"  {'finding':<36}{'severity':<10}{'count':>6}  amount at stake")
        for row in report["findings_by_code"]:
            money = ", ".join(f"{amount} {cur}" for cur, amount in row["amount_at_stake"].items())
            severity = "observed" if row.get("observed") else row["severity"]
            lines.append(f"  {row['code']:<36}{severity:<10}{row['count']:>6}  {money or '-'}")
        if report.get("observed"):
            lines.append("")
            lines.append(
                f"  {len(report['observed'])} draft(s) have blocking findings of checks in "
                "observe mode, which held nothing"
            )
    else:
        lines.append("  no findings")
    if report["external_drafts"]:
        lines.append("")
        lines.append("  external drafts checked")
        for draft in report["external_drafts"]:
            codes = ", ".join(sorted({f["code"] for f in draft["findings"]})) or "clean"
            lines.append(f"    {draft['source']}: {codes}")
    return "\n".join(lines)


def write_json(report: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return path


def _money(totals: dict[str, str]) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in totals.items())
