import gc

import pytest

from billguard.billing import chunks
from billguard.billing.collector import chunk_collection


@pytest.fixture
def collector_on():
    was_on = gc.isenabled()
    gc.enable()
    yield
    if not was_on:
        gc.disable()


class Cycle:
    """An object that refers to itself, so only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def cycles_alive() -> int:
    return sum(1 for item in gc.get_objects() if type(item) is Cycle)


def test_collector_off_within_block(collector_on):
    with chunk_collection():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_left_off_if_off(collector_on):
    gc.disable()
    with chunk_collection():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_cycles_freed_at_block_end(collector_on):
    gc.collect()
    with chunk_collection():
        for _ in range(2000):
            Cycle()
        # Not collected while the block runs, however many there are.
        assert cycles_alive() == 2000
    assert cycles_alive() == 0


def test_collector_restored_after_error(collector_on):
    gc.collect()
    with pytest.raises(ZeroDivisionError), chunk_collection():
        Cycle()
        1 / 0  # noqa: B018
    assert gc.isenabled()
    assert cycles_alive() == 0


def test_chunk_runs_under_chunk_collection(collector_on, monkeypatch):
    seen = []
    monkeypatch.setattr(chunks, "_chunk_attempt", lambda chunk_id: seen.append(gc.isenabled()))
    monkeypatch.setattr(chunks, "statistics_refresh", lambda: seen.append(gc.isenabled()))

    chunks.chunk_execute(1)

    # The chunk's own work runs with the collector off, what follows it with the collector on.
    assert seen == [False, True]
