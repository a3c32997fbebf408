"""Exit with a clear message when the PostgreSQL server of the test run cannot be reached.

``make test`` runs this before the PostgreSQL half of the suite, so that a missing server
fails the run with an explanation instead of skipping tests. It connects to the server's
``postgres`` maintenance database, because pytest-django creates its own test database.
"""

from __future__ import annotations

import os
import sys

import dj_database_url
import psycopg


def main() -> int:
    url = os.environ.get("BILLGUARD_DATABASE_URL", "")
    config = dj_database_url.parse(url) if url else {}
    if config.get("ENGINE") != "django.db.backends.postgresql":
        print(
            f"error: BILLGUARD_DATABASE_URL={url!r} does not name a PostgreSQL database.",
            file=sys.stderr,
        )
        return 1
    host = config.get("HOST") or "127.0.0.1"
    port = config.get("PORT") or 5432
    try:
        with psycopg.connect(
            host=host,
            port=port,
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=5,
        ):
            pass
    except psycopg.OperationalError as error:
        print(
            f"error: cannot connect to the PostgreSQL server at {host}:{port}: "
            f"{str(error).strip()}\n"
            "Start the server (on these machines: pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start) or set TEST_POSTGRES_URL to a reachable one.",
            file=sys.stderr,
        )
        return 1
    print(f"PostgreSQL server reachable at {host}:{port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
