"""How often Python's cyclic garbage collector runs while a billing run's chunk is carried out.

A chunk builds hundreds of thousands of short-lived objects: model instances of the contracts,
their versions, schedules and issued invoices with their lines, and the drafts and findings.
With CPython's default thresholds (a young collection per 700 net allocations), many of them
outlive a young collection while the chunk still uses them. So they move to the oldest
generation, and its collections, which walk every object of the process, run often. With a
year of invoice history the contexts grow, and so did the time those collections took: on a
book of 2,000 contracts, from 1.4 s of a 12 s run to 6 s of a 20 s run (docs/benchmarks.md).

Within a chunk the young generation is collected after ``YOUNG_THRESHOLD`` net allocations
instead, and the older generations keep their own thresholds. Reference counting still frees
every object without cycles at once. Objects in cycles live longer, so a run's peak memory
grows: by 60 to 210 MiB on the 2,000-contract book over a year of history.

NOTE: the 100k-contract book was measured with one month of history only, where its peak RSS
stayed at 340 MiB. Its peak with a year of history is not measured.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 100_000


@contextmanager
def chunk_collection() -> Iterator[None]:
    """Collect the young generation less often until the block ends, then restore the
    thresholds that were set before (also when the block raises)."""
    previous = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
