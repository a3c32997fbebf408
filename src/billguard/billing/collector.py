"""When Python's cyclic garbage collector runs while a billing run's chunk is carried out.

A chunk builds hundreds of thousands of objects: model instances of the contracts, their
versions, schedules and issued invoices with their lines, and the drafts and findings. Many
of them sit in reference cycles (a prefetched invoice and its lines point at each other), so
only the collector frees them. With CPython's default thresholds (a young collection per 700
net allocations), the chunk's objects outlived young collections while the chunk still used
them, moved to the older generations and were walked again by each of their collections.
With a year of invoice history that grew from 1.4 s of a 12 s run to 6 s of a 20 s run on a
book of 2,000 contracts (docs/benchmarks.md).

So the collector does not run while a chunk runs. When the chunk ends (also when it
raises), one collection of the young and middle generations walks what the chunk left
once, frees its cycles, and the collector runs as before. Reference counting still frees
every object without cycles at once. A chunk keeps at most its own cyclic garbage until it
ends, so memory grows with the chunk size, as the chunk's contexts already do.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# The oldest generation that the collection at the end of a chunk walks, the middle one (1).
# While the collector is off, every object the chunk creates stays in the young generation (0).
CHUNK_END_GENERATION = 1


@contextmanager
def chunk_collection() -> Iterator[None]:
    """Keep the collector off until the block ends, then collect what the block left.

    The collector is turned on again only if it was on before. The switch is process-wide, so
    other threads of the process (a web server's, when a page runs a billing run in process)
    also run without it until the block ends.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
        gc.collect(CHUNK_END_GENERATION)
