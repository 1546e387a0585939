"""Before the first caller: the AGI server's Redis connections are open, and the process's
start-up objects are out of the garbage collector's way (`settle_heap`)."""

from __future__ import annotations

import gc

import pytest

from hotline.bootstrap.agi import GC_THRESHOLDS, REDIS_WARM, settle_heap
from tests.agi.conftest import Hotline


async def test_the_redis_connections_of_a_burst_are_open_before_the_first_caller(
    hotline_not_started: Hotline,
) -> None:
    rig = hotline_not_started
    name = f"{rig.keys.root}agi"
    await rig.start()
    clients = await rig.redis.client_list()
    assert sum(client["name"] == name for client in clients) >= REDIS_WARM


@pytest.mark.usefixtures("heap_restored")
def test_after_start_up_the_collector_leaves_the_start_ups_objects_alone() -> None:
    gc.unfreeze()
    kept = [object() for _ in range(10)]  # stands for the modules and services built
    settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_threshold()[0] > 700  # fewer young collections than Python's default
