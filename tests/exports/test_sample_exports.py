"""The sample company's mappings cover its journals, and its seeded faults reach the CSV."""

import csv
import io

import pytest

from billguard.billing.run import billing_run_execute
from billguard.checks.models import StoredFinding
from billguard.domain.periods import parse_period
from billguard.exports.findings import findings_csv, findings_select
from billguard.exports.journals import build_journals, missing_mappings, xero_csv
from billguard.exports.selection import issued_in_period
from billguard.sample.company import PERIOD, generate_sample_company

pytestmark = pytest.mark.django_db

SMALL_BOOK = {"customers": 40, "contracts": 90}


def test_sample_company_exports_journals_and_findings(tmp_path):
    generate_sample_company(external_drafts_dir=tmp_path / "drafts", **SMALL_BOOK)
    result = billing_run_execute(period=parse_period(PERIOD))

    journals = build_journals(issued_in_period(parse_period(PERIOD)))
    content, count = findings_csv(findings_select(period=parse_period(PERIOD)))

    assert len(journals) == len(result.issued)
    assert missing_mappings(journals, "xero") == []
    assert missing_mappings(journals, "quickbooks") == []
    assert len(list(csv.DictReader(io.StringIO(xero_csv(journals))))) == sum(
        len(journal.lines) for journal in journals
    )
    rows = list(csv.DictReader(io.StringIO(content)))
    stored = StoredFinding.objects.filter(billing_run__period_label=PERIOD)
    assert count == stored.count()
    assert sorted(row["code"] for row in rows) == sorted(stored.values_list("code", flat=True))
    run_findings = sorted(
        (outcome.contract_number, finding.code)
        for outcome in result.outcomes
        for finding in outcome.findings
    )
    assert sorted((row["contract"], row["code"]) for row in rows) == run_findings
    assert "PRICE_MISMATCH" in {code for _, code in run_findings}
