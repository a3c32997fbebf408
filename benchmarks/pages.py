"""Time every web page with a real HTTP client against gunicorn, on a large book.

The database (PostgreSQL by default, its own database, dropped and created again) gets the
benchmark book of ``--contracts`` contracts and a year of billing on top of it
(benchmarks.pages_book: one invoice of ten lines per contract, so 100k contracts give 1M
invoice lines), an audit trail of one entry per issued invoice written through the audit
chain, and the sample users. gunicorn then serves the application with ``--workers``
processes, and each page is fetched ``--requests`` times in a row by a signed-in
``requests`` session after ``--warmup`` fetches. The figures (median, 95th percentile,
maximum) are printed and written as JSON; a page whose route does not exist is reported as
missing, not timed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.book import BookSize, contract_number, customer_of
from benchmarks.database import configure_django, recreate_database

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql://root@127.0.0.1:5432/billguard_pages_bench"
TARGET_P95_MS = 300.0
AUDIT_BATCH = 5_000
PASSWORD = "billguard-sample"  # noqa: S105 (the sample users' published password)


def main() -> None:
    args = _arguments()
    var_dir = (args.var_dir or REPOSITORY / "var" / "bench" / "pages").resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    size = BookSize(args.contracts)
    if not args.keep_database:
        recreate_database(args.database_url)
    configure_django(args.database_url, var_dir)
    from benchmarks.machine import describe_machine

    results: dict[str, Any] = {
        "command": " ".join(["python", "-m", "benchmarks.pages", *sys.argv[1:]]),
        "machine": describe_machine(),
        "contracts": size.contracts,
        "gunicorn_workers": args.workers,
        "requests_per_page": args.requests,
        "target_p95_ms": TARGET_P95_MS,
    }
    if not args.keep_database:
        results["data"] = write_data(size)
    results["kpis_refresh_seconds"] = refresh_dashboard()
    results["pages"] = time_pages(args, var_dir, size)
    path = args.json or var_dir / "results.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"figures written to {path}")


def write_data(size: BookSize) -> dict[str, Any]:
    """Write the book, the year of billing, the audit trail and the users; return counts."""
    from django.db import connection, transaction

    from benchmarks.__main__ import write_book
    from benchmarks.pages_book import issued_count, page_tables
    from benchmarks.tables import write_tables
    from billguard.billing.models import Invoice, NumberingSeries
    from billguard.controls.policy_yaml import policy_seed
    from billguard.controls.services import AuditItem, audit_record_batch
    from billguard.sample.users import sample_passwords_set, sample_users_create

    started = time.perf_counter()
    book = write_book(size)
    with transaction.atomic():
        written = write_tables(page_tables(size))
        NumberingSeries.objects.update(next_number=issued_count(size) + 1)
    for table in written:
        print(f"  {table.model_label:30} {table.rows:>10} rows  {table.seconds:7.1f} s")
    policy_seed()
    sample_users_create()
    sample_passwords_set()
    requests_made = change_requests_write(size)
    issued = Invoice.objects.filter(status=Invoice.Status.ISSUED).order_by("pk")
    batch: list[AuditItem] = []
    entries = 0
    for pk, number, run_id in issued.values_list("pk", "number", "billing_run_id").iterator():
        batch.append(
            AuditItem(
                "invoice.issue", "billing.invoice", str(pk), None, {"number": number}, "", run_id
            )
        )
        if len(batch) == AUDIT_BATCH:
            with transaction.atomic():
                entries += len(audit_record_batch(actor="fran.finance", items=batch))
            batch = []
    if batch:
        with transaction.atomic():
            entries += len(audit_record_batch(actor="fran.finance", items=batch))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    seconds = time.perf_counter() - started
    print(f"data written in {seconds:.0f} s ({entries} audit entries)")
    return {
        "seconds": seconds,
        "book": book["tables"],
        "tables": {t.model_label: t.rows for t in written},
        "audit_entries": entries,
        "change_requests": requests_made,
    }


def refresh_dashboard() -> float:
    """Compute the dashboard figures as `billguard kpis refresh` does on its schedule."""
    from django.utils import timezone

    from billguard.insights.kpis import last_complete_month
    from billguard.insights.snapshot import kpi_snapshot_refresh

    started = time.perf_counter()
    kpi_snapshot_refresh(last_complete_month(timezone.localdate()))
    seconds = time.perf_counter() - started
    print(f"dashboard figures computed in {seconds:.1f} s (billguard kpis refresh)")
    return seconds


def change_requests_write(size: BookSize, count: int = 50) -> int:
    """Request price changes on ``count`` contracts as sam.sales, through the real service."""
    import datetime as dt
    from decimal import Decimal

    from django.contrib.auth.models import User

    from billguard.controls.requests import change_request_create
    from billguard.registry.models import Contract

    by = User.objects.get(username="sam.sales")
    step = max(1, size.contracts // count)
    made = 0
    for j in range(step, size.contracts + 1, step):
        contract = Contract.objects.get(number=contract_number(j))
        change_request_create(
            by=by,
            target="contract",
            target_id=contract.pk,
            changes={"lines": {"L01": {"unit_price": str(Decimal(1000 + j % 97))}}},
            reason="Price agreed at renewal",
            effective_from=dt.date(2027, 1, 1),
        )
        made += 1
        if made == count:
            break
    return made


def page_list(size: BookSize) -> list[tuple[str, str, str]]:
    """(name, path, user) of every page timed, with records from the middle of the book."""
    from billguard.billing.models import Invoice
    from billguard.controls.models import ChangeRequest
    from billguard.receivables.models import Dispute

    middle = size.contracts // 2
    held = Invoice.objects.filter(status=Invoice.Status.HELD, pk__gte=middle).order_by("pk")
    issued = Invoice.objects.filter(status=Invoice.Status.ISSUED, pk__gte=middle).order_by("pk")
    held_id = held.values_list("pk", flat=True).first()
    issued_id = issued.values_list("pk", flat=True).first()
    dispute_id = Dispute.objects.order_by("pk").values_list("pk", flat=True).first()
    request_id = ChangeRequest.objects.order_by("-pk").values_list("pk", flat=True).first()
    customer = f"BC-{customer_of(middle):06d}"
    pages = [
        ("dashboard", "/", "fran.finance"),
        ("KPI definitions", "/dashboard/definitions/", "fran.finance"),
        ("exception queue", "/exceptions/", "fran.finance"),
        ("exception queue, one code", "/exceptions/?code=PRICE_MISMATCH", "fran.finance"),
        ("invoices", "/invoices/", "fran.finance"),
        ("invoices, one customer", f"/invoices/?customer={customer}", "fran.finance"),
        ("approvals inbox", "/approvals/", "alex.approver"),
        ("contracts", "/contracts/", "fran.finance"),
        ("contract", f"/contracts/{contract_number(middle)}/", "fran.finance"),
        ("customers", "/customers/", "fran.finance"),
        ("customer", f"/customers/{customer}/", "fran.finance"),
        ("disputes", "/disputes/", "fran.finance"),
        ("billing runs", "/billing-runs/", "fran.finance"),
        ("billing run report", "/billing-runs/12/", "fran.finance"),
        ("imports", "/imports/", "fran.finance"),
        ("audit log", "/audit/", "audrey.auditor"),
        ("audit log, one person", "/audit/?actor=fran.finance", "audrey.auditor"),
    ]
    if held_id is not None:
        pages.append(("held draft", f"/exceptions/{held_id}/", "fran.finance"))
    if issued_id is not None:
        pages.append(("invoice trace", f"/invoices/{issued_id}/", "fran.finance"))
    if dispute_id is not None:
        pages.append(("dispute", f"/disputes/{dispute_id}/", "fran.finance"))
    if request_id is not None:
        pages.append(("change request", f"/approvals/{request_id}/", "alex.approver"))
    return pages


def time_pages(args: argparse.Namespace, var_dir: Path, size: BookSize) -> list[dict[str, Any]]:
    import requests

    pages = page_list(size)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = var_dir / "gunicorn.log"
    env = dict(os.environ)
    with log.open("ab") as output:
        server = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--timeout",
                "300",
                "billguard.wsgi:application",
            ],
            cwd=REPOSITORY,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(url, server, log)
        sessions: dict[str, requests.Session] = {}
        figures = []
        print(f"{'page':32} {'status':>6} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
        for name, path, user in pages:
            session = sessions.get(user) or _signed_in(url, user)
            sessions[user] = session
            figure = _time_page(session, url + path, args.warmup, args.requests)
            figure.update(name=name, path=path, user=user)
            figures.append(figure)
            if figure["status"] != 200:
                print(f"{name:32} {figure['status']:>6} {'missing':>10}")
                continue
            mark = "" if figure["p95_ms"] <= TARGET_P95_MS else "  over target"
            print(
                f"{name:32} {figure['status']:>6} {figure['median_ms']:>10.1f} "
                f"{figure['p95_ms']:>8.1f} {figure['max_ms']:>8.1f}{mark}"
            )
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


def _time_page(session: Any, url: str, warmup: int, count: int) -> dict[str, Any]:
    response = session.get(url, timeout=60)
    if response.status_code != 200:
        return {"status": response.status_code}
    for _ in range(warmup):
        session.get(url, timeout=60)
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        response = session.get(url, timeout=60)
        seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            return {"status": response.status_code}
    ordered = sorted(seconds)
    # The nearest-rank 95th percentile: the smallest time at or above 95 % of the fetches.
    p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]
    return {
        "status": 200,
        "median_ms": statistics.median(seconds) * 1000,
        "p95_ms": p95 * 1000,
        "max_ms": ordered[-1] * 1000,
        "bytes": len(response.content),
    }


def _signed_in(url: str, user: str) -> Any:
    import requests

    session = requests.Session()
    session.get(f"{url}/sign-in/", timeout=30)
    token = session.cookies.get("csrftoken", "")
    response = session.post(
        f"{url}/sign-in/",
        data={"username": user, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/sign-in/"},
        timeout=30,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise SystemExit(f"error: {user} could not sign in (HTTP {response.status_code})")
    return session


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"error: gunicorn exited with {server.returncode}; see {log}")
        try:
            requests.get(f"{url}/sign-in/", timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"error: gunicorn did not respond within 60 s (timed out); see {log}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pages", description=__doc__)
    parser.add_argument("--contracts", type=int, default=100_000, help="contracts in the book")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="its own database")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--requests", type=int, default=40, help="timed fetches per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed fetches first")
    parser.add_argument("--var-dir", type=Path, help="outputs (default var/bench/pages)")
    parser.add_argument("--json", type=Path, help="figures file (default VAR_DIR/results.json)")
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="time the pages on the database as it is, without writing it again",
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
