"""The serving process's garbage-collector tuning (api/runtime.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.runtime import tune_garbage_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_tuning_freezes_the_start_up_objects_and_raises_the_young_threshold(
    restored_collector: None,
) -> None:
    before = gc.get_threshold()
    tune_garbage_collector(12_345)
    assert gc.get_freeze_count() > 10_000  # the modules and schema of this process
    assert gc.get_threshold() == (12_345, before[1], before[2])


def test_zero_leaves_the_collector_as_python_set_it(restored_collector: None) -> None:
    before = gc.get_threshold(), gc.get_freeze_count()
    tune_garbage_collector(0)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
