import gc

import pytest

from billguard.billing import chunks
from billguard.billing.collector import YOUNG_THRESHOLD, chunk_collection


@pytest.fixture
def default_thresholds():
    previous = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*previous)


def test_chunk_collection_raises_young_threshold_only(default_thresholds):
    with chunk_collection():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_chunk_collection_restores_thresholds_after_error(default_thresholds):
    with pytest.raises(ZeroDivisionError), chunk_collection():
        1 / 0  # noqa: B018
    assert gc.get_threshold() == (700, 10, 10)


def test_chunk_collection_keeps_higher_threshold(default_thresholds):
    gc.set_threshold(YOUNG_THRESHOLD * 2, 10, 10)
    with chunk_collection():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD * 2
    assert gc.get_threshold() == (YOUNG_THRESHOLD * 2, 10, 10)


def test_chunk_runs_under_chunk_collection(default_thresholds, monkeypatch):
    seen = []
    monkeypatch.setattr(chunks, "_chunk_attempt", lambda chunk_id: seen.append(gc.get_threshold()))
    monkeypatch.setattr(chunks, "statistics_refresh", lambda: seen.append(gc.get_threshold()))

    chunks.chunk_execute(1)

    # The chunk's own work runs with the raised threshold, what follows it with the old ones.
    assert seen == [(YOUNG_THRESHOLD, 10, 10), (700, 10, 10)]
