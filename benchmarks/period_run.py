"""One billing run of the benchmark, in a process of its own so its peak memory is its own.

Run by ``benchmarks.__main__``; it prints nothing and writes its figures as JSON:

- ``seconds``: wall time of ``billing_run_execute``, outputs included (time.perf_counter);
- ``user_seconds``, ``system_seconds``: CPU time of this process during the run
  (resource.getrusage);
- ``max_rss_mib``: peak resident memory of this process (ru_maxrss, KiB on Linux);
- ``children_user_seconds``, ``children_system_seconds``, ``children_max_rss_mib``: the same
  for the child processes of the run, such as the process that writes a long run's files on
  PostgreSQL (RUSAGE_CHILDREN: the largest child's peak);
- ``server_cpu_seconds``: on PostgreSQL, CPU time of the server process that served the
  run's connection, read from /proc/<pid>/stat; None where it cannot be read.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import time
from pathlib import Path

from benchmarks.database import configure_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--var-dir", type=Path, required=True)
    parser.add_argument("--period", required=True, help="run period, such as 2026-11")
    parser.add_argument("--chunk-size", type=int, required=True, help="contracts per chunk")
    parser.add_argument("--json", type=Path, required=True, help="file the figures go to")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the run to this file")
    parser.add_argument(
        "--queue", action="store_true", help="send the chunks to queue workers and wait for them"
    )
    args = parser.parse_args()

    configure_django(args.database_url, args.var_dir)
    figures = run_period(args.period, args.chunk_size, args.profile, queue=args.queue)
    args.json.write_text(json.dumps(figures, indent=2) + "\n")


def run_period(
    period_label: str, chunk_size: int, profile_path: Path | None, *, queue: bool = False
) -> dict[str, object]:
    from django.db import connection
    from django.db.models import Count

    from billguard.billing.models import InvoiceLine
    from billguard.billing.run import billing_run_execute
    from billguard.checks.models import StoredFinding
    from billguard.domain.periods import parse_period

    period = parse_period(period_label)
    server_pid = _server_pid(connection)
    server_before = _process_cpu_seconds(server_pid)
    rss_before = _max_rss_mib()
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    profiler = cProfile.Profile() if profile_path else None

    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = billing_run_execute(period=period, chunk_size=chunk_size, queue=queue)
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started

    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_after = _process_cpu_seconds(server_pid)
    if profiler is not None and profile_path is not None:
        profiler.dump_stats(profile_path)

    run_id = result.billing_run_id
    lines = InvoiceLine.objects.filter(invoice__billing_run_id=run_id).count()
    findings = dict(
        StoredFinding.objects.filter(billing_run_id=run_id)
        .values_list("code")
        .annotate(count=Count("id"))
        .order_by("code")
        .values_list("code", "count")
    )
    return {
        "period": period.label,
        "chunk_size": chunk_size,
        "queue": queue,
        "contracts": result.contracts_considered,
        "issued": len(result.issued),
        "held": len(result.held),
        "already_issued": result.already_issued,
        "nothing_to_bill": result.nothing_to_bill,
        "invoice_lines": lines,
        "findings": findings,
        "seconds": seconds,
        "lines_per_second": lines / seconds if seconds else None,
        "user_seconds": usage_after.ru_utime - usage_before.ru_utime,
        "system_seconds": usage_after.ru_stime - usage_before.ru_stime,
        "max_rss_mib_before_run": rss_before,
        "max_rss_mib": _max_rss_mib(),
        "children_user_seconds": children_after.ru_utime - children_before.ru_utime,
        "children_system_seconds": children_after.ru_stime - children_before.ru_stime,
        "children_max_rss_mib": children_after.ru_maxrss / 1024,
        "server_cpu_seconds": (
            server_after - server_before
            if server_before is not None and server_after is not None
            else None
        ),
    }


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _server_pid(connection) -> int | None:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _process_cpu_seconds(pid: int | None) -> float | None:
    """User plus system CPU time of process ``pid`` from /proc (Linux), or None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command name: utime and stime are fields 14 and 15 of proc(5), in clock ticks.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
