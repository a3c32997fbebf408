"""Queue workers for the benchmark's queue-mode runs: ``billguard worker`` processes on Redis.

Each worker runs with ``--concurrency 1``, so it is a Celery parent process and one child
that runs the chunks. Their CPU time and peak memory are read from /proc (Linux) before they
are stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# A queue of its own per benchmark process, so tasks left by a stopped benchmark are not run.
QUEUE_NAME = f"billguard_bench_{os.getpid()}"
READY_TIMEOUT_SECONDS = 60


@dataclass
class WorkerPool:
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def figures(self) -> dict[str, object]:
        """Return the CPU seconds and the peak RSS (VmHWM) of every worker process tree."""
        trees = [_process_tree(process.pid) for process in self.processes]
        return {
            "workers": len(self.processes),
            "cpu_seconds": sum(_cpu_seconds(pid) for tree in trees for pid in tree),
            "max_rss_mib_per_process": max(
                (_peak_rss_mib(pid) for tree in trees for pid in tree), default=0.0
            ),
            "max_rss_mib_per_worker": max(
                (sum(_peak_rss_mib(pid) for pid in tree) for tree in trees), default=0.0
            ),
        }

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def queue_environment(broker_url: str) -> dict[str, str]:
    return {"BILLGUARD_BROKER_URL": broker_url, "BILLGUARD_QUEUE": QUEUE_NAME}


def workers_start(count: int, env: dict[str, str], log_dir: Path) -> WorkerPool:
    """Start ``count`` workers and wait until each logs that it is ready."""
    pool = WorkerPool()
    log_dir.mkdir(parents=True, exist_ok=True)
    for index in range(1, count + 1):
        log = log_dir / f"worker-{index}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "billguard.cli.main", "worker", "--concurrency", "1"],
                env={**os.environ, **env},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pool.processes.append(process)
        pool.logs.append(log)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    for process, log in zip(pool.processes, pool.logs, strict=True):
        while " ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pool.stop()
                raise RuntimeError(
                    f"queue worker {process.pid} did not start; its log {log} ends with:\n"
                    + log.read_text(errors="replace")[-2000:]
                )
            time.sleep(0.2)
    return pool


def _process_tree(pid: int) -> list[int]:
    """Return ``pid`` and its descendants, from the parent ids in /proc/*/stat."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    tree = [pid]
    for candidate in tree:
        tree.extend(child for child, parent in parents.items() if parent == candidate)
    return tree


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime, fields 14 and 15 of proc(5), in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
