"""Celery tasks of the billing run; ``billguard worker`` processes run them."""

from __future__ import annotations

from billguard.celery_app import app


@app.task(name="billguard.billing.run_chunk")
def run_chunk(chunk_id: int) -> None:
    """Run one chunk of a billing run; a chunk already done is left as it is."""
    from billguard.billing.chunks import chunk_execute

    chunk_execute(chunk_id)
