"""The ``billguard kpis refresh`` command: compute the dashboard figures ahead of the page."""

from __future__ import annotations

import argparse
from typing import Any

from billguard.cli.main import EXIT_OK


def add_parsers(sub: Any) -> None:
    """Add the ``kpis`` command and its actions to the subparsers ``sub``."""
    kpis = sub.add_parser(
        "kpis",
        help="dashboard figures: compute and store them for the web dashboard",
        description="The dashboard shows a stored snapshot of its figures while it is younger "
        "than BILLGUARD_KPI_MAX_AGE seconds (default 900). Run `billguard kpis refresh` on a "
        "schedule, more often than that, so that no page request computes them. See "
        "docs/kpis.md.",
    )
    actions = kpis.add_subparsers(dest="action", metavar="ACTION", required=True)
    refresh = actions.add_parser(
        "refresh", help="compute every figure of the twelve months ending with a month"
    )
    refresh.add_argument(
        "--through",
        metavar="YYYY-MM",
        default="",
        help="last month of the twelve (default: the last complete month)",
    )
    refresh.set_defaults(handler=kpis_refresh_command)


def kpis_refresh_command(args: argparse.Namespace) -> int:
    from django.utils import timezone

    from billguard.insights.kpis import month_param
    from billguard.insights.snapshot import kpi_snapshot_refresh

    last = month_param(args.through, timezone.localdate())
    started = timezone.now()
    snapshot = kpi_snapshot_refresh(last)
    seconds = (timezone.now() - started).total_seconds()
    print(f"Dashboard figures through {snapshot.through} computed in {seconds:.1f} s.")
    return EXIT_OK
