"""Time the dashboard on PostgreSQL: computing its figures, and serving the page.

The database is dropped, created and migrated, then filled by dashboard_volume.sql: per month
``--contracts`` issued invoices for twelve months, payments on 90 % of them, credit notes and
disputes on 1 % each, and held drafts with blocking findings. The figures are computed once
(``billguard kpis refresh``'s work, timed), then the page is requested ``--requests`` times
through the Django test client, and the median and 95th percentile printed.

    .venv/bin/python -m benchmarks.dashboard --database-url postgresql://.../billguard_dash_bench
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from benchmarks.database import configure_django, recreate_database

REPOSITORY = Path(__file__).resolve().parents[1]
VOLUME_SQL = Path(__file__).with_name("dashboard_volume.sql")
THROUGH = "2026-11"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database to replace")
    parser.add_argument("--contracts", type=int, default=100_000, help="invoices per month")
    parser.add_argument("--requests", type=int, default=40, help="page requests to time")
    args = parser.parse_args()

    recreate_database(args.database_url)
    configure_django(args.database_url, REPOSITORY / "var" / "bench")
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    volume_write(args.contracts)
    print(f"volume written in {time.perf_counter() - started:.0f} s")

    from billguard.domain.periods import parse_period
    from billguard.insights.snapshot import kpi_snapshot_refresh

    started = time.perf_counter()
    kpi_snapshot_refresh(parse_period(THROUGH))
    print(f"figures computed in {time.perf_counter() - started:.1f} s")
    times = page_times(args.requests)
    print(
        f"page with a fresh snapshot, {len(times)} requests: median "
        f"{statistics.median(times):.0f} ms, p95 {percentile(times, 0.95):.0f} ms"
    )


def volume_write(contracts: int) -> None:
    """Create the one seller, party and contract the volume refers to, then run the SQL."""
    from django.db import connection
    from tests.factories import make_contract

    make_contract()
    text = VOLUME_SQL.read_text().replace(":contracts", str(int(contracts)))
    statements = [
        statement
        for statement in text.split(";\n")
        if statement.strip() and not _only_comments(statement)
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def page_times(requests: int) -> list[float]:
    """Milliseconds of each dashboard request after one warm-up request."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    from billguard.sample.users import sample_users_create

    settings.ALLOWED_HOSTS = ["*"]
    sample_users_create()
    client = Client()
    client.force_login(User.objects.get(username="fran.finance"))
    client.get(f"/?through={THROUGH}")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(f"/?through={THROUGH}")
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"the dashboard answered {response.status_code}")
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * share) - 1, 0)]


def _only_comments(statement: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in statement.splitlines())


if __name__ == "__main__":
    main()
