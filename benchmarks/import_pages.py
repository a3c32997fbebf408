"""Time the import pages on a book of contracts: the list of past imports and a preview.

The database is dropped and created again, the benchmark book is written into it, and
``--runs`` import runs (each with ``--records`` records) and ``--history`` history imports
are added. With ``--reuse`` the database and upload of an earlier run are timed again.
The list is then fetched through Django's test client as fran.finance, on its first page
and on a page far down, and so is a preview page of an upload whose dry run found
``--problems`` row problems. Each page is fetched ``--repeat`` times. The figures are the
median and the 95th percentile, in milliseconds.

    python -m benchmarks.import_pages --database-url postgresql://root@127.0.0.1:5432/NAME
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.database import configure_django, recreate_database

REPOSITORY = Path(__file__).resolve().parent.parent


def main() -> None:
    args = parse_arguments()
    var_dir = (args.var_dir or REPOSITORY / "var" / "bench" / "import-pages").resolve()
    if not args.reuse:
        recreate_database(args.database_url)
    configure_django(args.database_url, var_dir)
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]

    from benchmarks.__main__ import book_size, write_book
    from benchmarks.machine import describe_machine

    results: dict[str, Any] = {
        "command": " ".join(["python", "-m", "benchmarks.import_pages", *sys.argv[1:]]),
        "machine": describe_machine(),
        "contracts": args.contracts,
        "runs": args.runs,
        "records_per_run": args.records,
        "history_imports": args.history,
        "problems": args.problems,
        "repeat": args.repeat,
    }
    if args.reuse:
        client, token = _reuse()
    else:
        size = book_size(args.contracts, 10, ["2026-11"])
        results["book_seconds"] = write_book(size)["seconds"]
        client, token = _prepare(args, var_dir)
    pages = {
        "list, first page": "/imports/",
        "list, page 20": "/imports/?page=20",
        "list with dry runs": "/imports/?dry_runs=1",
        "preview, first page": f"/imports/uploads/{token}/",
        "preview, page 150": f"/imports/uploads/{token}/?page=150",
    }
    results["pages"] = {}
    for label, url in pages.items():
        figures = _time_page(client, url, args.repeat)
        results["pages"][label] = figures
        print(f"{label:24} p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms")
    path = var_dir / "results.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"figures written to {path}")


def _prepare(args: argparse.Namespace, var_dir: Path) -> tuple[Any, str]:
    """Add the import runs, the history imports and an upload with its preview."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from billguard.history.models import HistoryImport
    from billguard.imports.models import ImportRun
    from billguard.sample.users import sample_users_create
    from billguard.web.pages.imports.uploads import upload_create

    sample_users_create()
    fran = User.objects.get(username="fran.finance")
    start = timezone.now() - dt.timedelta(days=args.runs)
    details = [
        {"action": "unchanged", "object_type": "contract", "external_id": f"X{n}", "label": f"C{n}"}
        for n in range(args.records)
    ]
    ImportRun.objects.bulk_create(
        ImportRun(
            source="salesforce",
            files=[{"name": f"export-{n}.zip", "sha256": "0" * 64}],
            dry_run=n % 3 == 0,
            unchanged=args.records,
            details=details,
            run_by=fran,
            started_at=start + dt.timedelta(hours=n),
            finished_at=start + dt.timedelta(hours=n, minutes=1),
        )
        for n in range(args.runs)
    )
    HistoryImport.objects.bulk_create(
        HistoryImport(
            source="quickbooks",
            started_at=start + dt.timedelta(hours=n, minutes=30),
            user="fran.finance",
            files={"invoices": {"name": f"invoices-{n}.csv", "sha256": "0" * 64}},
            counts={"invoices": {"read": 100, "created": 100, "updated": 0, "unchanged": 0}},
        )
        for n in range(args.history)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")

    upload = upload_create(
        kind="mapped_customers",
        name="customers.csv",
        chunks=[b"ID,Name,Country\n"],
        size=16,
        by="fran.finance",
        options={"source": "erp"},
    )
    upload.mapping = "erp-customers"
    upload.save()
    problems = [
        {
            "file": "customers.csv",
            "row": n + 2,
            "column": "Country",
            "place": f"customers.csv, row {n + 2}, column Country",
            "value": "Atlantis",
            "message": "'Atlantis' is not a country.",
            "fix": "Use an ISO 3166-1 code such as DE or an English name such as Germany.",
        }
        for n in range(args.problems)
    ]
    upload.preview_save({"ok": False, "problems": problems, "counts": {}, "details": []})
    client = Client()
    client.force_login(fran)
    return client, upload.token


def _reuse() -> tuple[Any, str]:
    """Sign in to the database of an earlier run and find the upload it prepared."""
    from django.contrib.auth.models import User
    from django.test import Client

    from billguard.web.pages.imports.uploads import uploads_dir

    folders = sorted(uploads_dir().iterdir(), key=lambda folder: folder.stat().st_mtime)
    if not folders:
        raise SystemExit("error: no upload from an earlier run; run once without --reuse")
    client = Client()
    client.force_login(User.objects.get(username="fran.finance"))
    return client, folders[-1].name


def _time_page(client: Any, url: str, repeat: int) -> dict[str, float]:
    client.get(url)  # warm the template and query caches once
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"error: {url} returned status {response.status_code}")
    timings.sort()
    return {
        "p50_ms": statistics.median(timings),
        "p95_ms": timings[max(0, int(len(timings) * 0.95) - 1)],
        "max_ms": timings[-1],
    }


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_pages", description=__doc__)
    parser.add_argument("--database-url", required=True, help="database to drop and recreate")
    parser.add_argument("--contracts", type=int, default=100_000, help="contracts in the book")
    parser.add_argument("--runs", type=int, default=2_000, help="import runs to list")
    parser.add_argument("--records", type=int, default=500, help="records of each import run")
    parser.add_argument("--history", type=int, default=1_000, help="history imports to list")
    parser.add_argument("--problems", type=int, default=10_000, help="row problems to preview")
    parser.add_argument("--repeat", type=int, default=100, help="fetches of each page")
    parser.add_argument("--var-dir", type=Path, help="folder of the uploads and the figures")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the pages again on the database and upload of an earlier run",
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
