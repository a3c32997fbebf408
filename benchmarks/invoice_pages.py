"""Benchmark of the exception queue, invoice list and invoice trace pages on PostgreSQL.

It writes the benchmark book (100k contracts by default), then one issued invoice per
contract for 2026-10 with 10 lines each (1M invoice lines), and a held draft for 2026-11 with
two blocking findings on every 50th contract. It then requests each page through the Django
test client, signed in as fran.finance, and reports the median and the 95th percentile of the
wall time per page, template rendering included, and the median CPU time of the process.

    python -m benchmarks.invoice_pages --database-url postgresql://root@127.0.0.1:5432/NAME
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.database import configure_django, recreate_database

REPOSITORY = Path(__file__).resolve().parents[1]
HELD_EVERY = 50
LINES_PER_INVOICE = 10


def main() -> None:
    args = parse_arguments()
    var_dir = (REPOSITORY / "var" / "bench" / "invoice-pages").resolve()
    if not args.keep:
        recreate_database(args.database_url)
    configure_django(args.database_url, var_dir)

    from benchmarks.__main__ import write_book
    from benchmarks.book import BookSize
    from benchmarks.machine import describe_machine

    started = time.perf_counter()
    if not args.keep:
        write_book(BookSize(contracts=args.contracts, lines_per_contract=LINES_PER_INVOICE))
        invoices_write()
    written = time.perf_counter() - started
    print(f"book and invoices written in {written:.1f} s")

    results: dict[str, Any] = {
        "command": "python -m benchmarks.invoice_pages --contracts " + str(args.contracts),
        "machine": describe_machine(),
        "contracts": args.contracts,
        "write_seconds": written,
        "pages": pages_time(args.requests),
    }
    for url, figures in results["pages"].items():
        print(
            f"{url:55} median {figures['median_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms"
            f"  CPU {figures['cpu_median_ms']:6.1f} ms  {figures['queries']} queries"
        )
    path = var_dir / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"figures written to {path}")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="postgresql://root@127.0.0.1:5432/billguard_invoice_pages",
        help="PostgreSQL database to drop, create and fill",
    )
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20, help="requests per page")
    parser.add_argument(
        "--keep", action="store_true", help="time the pages on the data of the previous run"
    )
    return parser.parse_args()


def invoices_write() -> None:
    """Write the issued invoices, their lines, the held drafts and their findings in SQL."""
    from django.db import connection, transaction

    from billguard.sample.users import sample_users_create

    sample_users_create()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(ISSUED_INVOICES)
        cursor.execute(HELD_DRAFTS, [HELD_EVERY])
        cursor.execute(LINES, [LINES_PER_INVOICE])
        cursor.execute(FINDINGS)
        cursor.execute(ASSIGNMENTS)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def pages_time(requests: int) -> dict[str, dict[str, float]]:
    """Request each page ``requests`` times after one warm-up request and return its figures."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from billguard.billing.models import Invoice

    # The test client's requests name the host "testserver".
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(User.objects.get(username="fran.finance"))
    held = Invoice.objects.filter(status="held").order_by("pk").first()
    middle = Invoice.objects.filter(status="issued").count() // 2
    issued = Invoice.objects.filter(status="issued").order_by("pk")[middle]
    assert held is not None and issued.contract is not None
    party = issued.contract.party
    urls = [
        "/exceptions/",
        "/exceptions/?code=PRICE_MISMATCH&sort=amount_desc",
        f"/exceptions/?customer={party.code}",
        "/exceptions/?min_days=0&min_amount=100&max_amount=1000000&mine=on",
        "/exceptions/?page=20",
        f"/exceptions/{held.pk}/",
        "/invoices/",
        f"/invoices/?number={issued.number}",
        f"/invoices/?customer={party.code}",
        f"/invoices/?customer={party.name[:12]}",
        "/invoices/?period=2026-10",
        "/invoices/?period=2026-10&page=20",
        "/invoices/?status=any&document_type=invoice",
        f"/invoices/{issued.pk}/",
        f"/invoices/{held.pk}/",
    ]
    figures = {}
    for url in urls:
        client.get(url)
        seconds = []
        cpu_seconds = []
        for _ in range(requests):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                cpu_started = time.process_time()
                response = client.get(url)
                cpu_seconds.append(time.process_time() - cpu_started)
                seconds.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url} returned {response.status_code}")
        seconds.sort()
        figures[url] = {
            "median_ms": statistics.median(seconds) * 1000,
            "p95_ms": seconds[max(0, int(len(seconds) * 0.95) - 1)] * 1000,
            # CPU time of this process alone (Python and templates, not PostgreSQL's work).
            "cpu_median_ms": statistics.median(cpu_seconds) * 1000,
            "queries": len(queries.captured_queries),
        }
    return figures


ISSUED_INVOICES = """
INSERT INTO billing_invoice (
    document_type, status, number, seller_entity_id, contract_id, contract_version_id,
    bill_to_id, currency, period_start, period_end, issue_date, due_date, customer_po,
    line_extension, tax_total, payable, draft_key, parties, terms_document_id, manual_edit,
    override_reason, created_at, issued_at)
SELECT 'invoice', 'issued', 'BEN-' || lpad(c.id::text, 8, '0'), c.seller_entity_id, c.id, v.id,
    v.bill_to_id, 'EUR', DATE '2026-10-01', DATE '2026-10-31', DATE '2026-10-01',
    DATE '2026-10-31', v.customer_po, 1000.00, 190.00, 1190.00, c.number || ':2026-10', '{}',
    v.sow_document_id, false, '', TIMESTAMPTZ '2026-10-01 06:00Z', TIMESTAMPTZ '2026-10-01 06:00Z'
FROM registry_contract c
JOIN registry_contractversion v ON v.contract_id = c.id AND v.version_number = 1
ORDER BY c.id
"""

HELD_DRAFTS = """
INSERT INTO billing_invoice (
    document_type, status, number, seller_entity_id, contract_id, contract_version_id,
    bill_to_id, currency, period_start, period_end, issue_date, due_date, customer_po,
    line_extension, tax_total, payable, draft_key, parties, terms_document_id, manual_edit,
    override_reason, created_at)
SELECT 'invoice', 'held', NULL, c.seller_entity_id, c.id, v.id, v.bill_to_id, 'EUR',
    DATE '2026-11-01', DATE '2026-11-30', DATE '2026-11-01', DATE '2026-12-01', v.customer_po,
    900.00 + c.id %% 500, 171.00, 1071.00 + c.id %% 500, c.number || ':2026-11', '{}',
    v.sow_document_id, false, '', TIMESTAMPTZ '2026-11-01 06:00Z' + (c.id %% 20) * INTERVAL '1 day'
FROM registry_contract c
JOIN registry_contractversion v ON v.contract_id = c.id AND v.version_number = 1
WHERE c.id %% %s = 0
ORDER BY c.id
"""

LINES = """
INSERT INTO billing_invoiceline (
    invoice_id, position, line_code, kind, description, quantity, unit_code, unit_price,
    net_amount, gl_account, tax_category, tax_rate, exemption_reason, service_start, service_end)
SELECT i.id, n, 'L' || n, 'recurring_fixed', 'Managed service, monthly fee', 1, 'C62', 100.00,
    100.00, '4000', 'S', 19, '', i.period_start, i.period_end
FROM billing_invoice i CROSS JOIN generate_series(1, %s) AS n
"""

FINDINGS = """
INSERT INTO checks_storedfinding (
    invoice_id, code, severity, subject, message, expected, actual, amount_at_stake, currency,
    evidence, observed, created_at)
SELECT i.id, f.code, 'block', 'line L1', f.message, f.expected, f.actual, f.at_stake, 'EUR',
    '{}', false, i.created_at
FROM billing_invoice i
CROSS JOIN (VALUES
    ('PRICE_MISMATCH', 'unit price differs from the contract', '100.00', '90.00', 10.00),
    ('PO_MISSING', 'the customer PO is missing', 'PO-1', '', NULL)
) AS f(code, message, expected, actual, at_stake)
WHERE i.status = 'held'
"""

ASSIGNMENTS = """
INSERT INTO billing_exceptionassignment (draft_key, assignee_id, assigned_by, assigned_at, note)
SELECT i.draft_key, u.id, 'alex.approver', now(), ''
FROM billing_invoice i JOIN auth_user u ON u.username = 'fran.finance'
WHERE i.status = 'held' AND i.id % 7 = 0
"""


if __name__ == "__main__":
    main()
