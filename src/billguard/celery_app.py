"""The Celery application that runs billing-run chunks on ``billguard worker`` processes.

Its settings come from the environment:

- BILLGUARD_BROKER_URL: the Redis broker, default ``redis://127.0.0.1:6379/0``;
- BILLGUARD_QUEUE: the name of the queue, default ``billguard``;
- BILLGUARD_BROKER_VISIBILITY_TIMEOUT: seconds after which Redis hands a chunk that a worker
  received but never acknowledged to another worker, default 3600.

A chunk is acknowledged only after it ran (``task_acks_late``), and a chunk whose pool
process died is put back on the queue (``task_reject_on_worker_lost``). Each pool process
reserves one chunk at a time (``worker_prefetch_multiplier=1``), so chunks spread over the
workers. When a whole worker dies, Redis delivers its unacknowledged chunks again once the
visibility timeout has passed. Keep the timeout above the longest chunk's duration: a chunk
still running when it expires is delivered a second time, and that delivery waits for the
first one and then does nothing.
"""

from __future__ import annotations

import os

from celery import Celery

from billguard.domain.errors import InvalidInput

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billguard.settings")

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
DEFAULT_QUEUE = "billguard"
DEFAULT_VISIBILITY_TIMEOUT = 3600


def broker_url() -> str:
    return os.environ.get("BILLGUARD_BROKER_URL", "").strip() or DEFAULT_BROKER_URL


def queue_name() -> str:
    return os.environ.get("BILLGUARD_QUEUE", "").strip() or DEFAULT_QUEUE


def visibility_timeout() -> int:
    """Return BILLGUARD_BROKER_VISIBILITY_TIMEOUT in seconds; raise InvalidInput when invalid."""
    text = os.environ.get("BILLGUARD_BROKER_VISIBILITY_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_VISIBILITY_TIMEOUT
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(
            f"BILLGUARD_BROKER_VISIBILITY_TIMEOUT is {text!r}, which is not a whole number of "
            "seconds of 1 or more.",
            place="BILLGUARD_BROKER_VISIBILITY_TIMEOUT",
            value=text,
            fix="Set it to the seconds to wait before a dead worker's chunk is delivered "
            "again, such as 3600.",
        )
    return int(text)


app = Celery("billguard", include=["billguard.billing.tasks"])
app.conf.update(
    broker_url=broker_url(),
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "visibility_timeout": visibility_timeout(),
        # Look for unacknowledged chunks of dead workers every few seconds, and on every look
        # (the throttle of 1), so that they are found soon after the visibility timeout.
        "unacked_restore_interval": max(1, min(10, visibility_timeout() // 4)),
        "unacked_restore_throttle": 1,
    },
    task_default_queue=queue_name(),
    task_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # Progress and results are in the database, so Celery stores no task results.
    task_ignore_result=True,
    task_store_errors_even_if_ignored=False,
    worker_enable_remote_control=False,
    worker_send_task_events=False,
    worker_hijack_root_logger=False,
)
