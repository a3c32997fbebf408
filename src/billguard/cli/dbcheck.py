"""Exit with a clear message when the configured database server cannot be reached.

``make test`` runs this before the PostgreSQL half of the suite, so that a missing server
fails the run with an explanation instead of skipping tests.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billguard.settings")
    import django
    from django.db import connection
    from django.db.utils import OperationalError

    django.setup()
    settings = connection.settings_dict
    try:
        connection.ensure_connection()
    except OperationalError as error:
        print(
            f"error: cannot connect to the {connection.vendor} database "
            f"{settings.get('NAME')!r} at {settings.get('HOST')}:{settings.get('PORT')}: "
            f"{str(error).strip()}\n"
            "Start the server (on these machines: pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start) or set TEST_POSTGRES_URL to a reachable one.",
            file=sys.stderr,
        )
        return 1
    print(
        f"{connection.vendor} database reachable at {settings.get('HOST')}:{settings.get('PORT')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
