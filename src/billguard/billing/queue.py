"""Queue mode of the billing run: send its chunks to Celery workers through Redis.

Only the calling process of a queued run imports this module; the default mode runs without
Celery's broker.
"""

from __future__ import annotations

from django.db import connection
from kombu.exceptions import OperationalError as BrokerError

from billguard.celery_app import app, queue_name, visibility_timeout
from billguard.domain.errors import BillguardError, InvalidInput

# Added to the visibility timeout for the default wait: a chunk of a dead worker is
# delivered again after the visibility timeout and then needs time to run.
QUEUE_TIMEOUT_MARGIN_SECONDS = 600


def queue_check_ready() -> None:
    """Raise BillguardError unless queue mode can run: PostgreSQL and a reachable broker."""
    if connection.vendor == "sqlite":
        raise InvalidInput(
            "queue mode needs PostgreSQL: its workers write in parallel, and SQLite lets one "
            "process write at a time.",
            place="--queue",
            fix="Point BILLGUARD_DATABASE_URL at PostgreSQL, or run without --queue.",
        )
    try:
        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=0, timeout=5)
    except BrokerError as error:
        raise BillguardError(
            f"cannot connect to the queue broker: {error}",
            code="BROKER_UNREACHABLE",
            place="BILLGUARD_BROKER_URL",
            fix="Start Redis, or set BILLGUARD_BROKER_URL to a reachable one, such as "
            "redis://127.0.0.1:6379/0.",
        ) from None


def chunks_enqueue(chunk_ids: list[int]) -> None:
    """Send one task per chunk to the queue that BILLGUARD_QUEUE names."""
    from billguard.billing.tasks import run_chunk

    with app.producer_or_acquire() as producer:
        for chunk_id in chunk_ids:
            run_chunk.apply_async(args=[chunk_id], queue=queue_name(), producer=producer)


def default_queue_timeout() -> float:
    """Return how long a queued run waits for a chunk to finish before it gives up."""
    return float(visibility_timeout() + QUEUE_TIMEOUT_MARGIN_SECONDS)
