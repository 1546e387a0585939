"""`hotline run` keeps each component going: a failure restarts it, only stop ends it."""

from __future__ import annotations

import asyncio
import itertools

from hotline.supervise import keep_running


async def test_a_failing_component_is_started_again_with_a_growing_wait() -> None:
    stop = asyncio.Event()
    starts: list[float] = []
    fourth = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def component() -> None:
        starts.append(loop.time())
        if len(starts) == 4:
            fourth.set()
        if len(starts) <= 3:
            raise RuntimeError(f"failure {len(starts)}")
        await stop.wait()  # the fourth run stays up

    task = asyncio.create_task(keep_running("part", component, stop, first_s=0.05, max_s=1))
    await asyncio.wait_for(fourth.wait(), 5)
    assert not task.done()  # the failures did not end it
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2  # doubling
    stop.set()
    assert await asyncio.wait_for(task, 2) == 3


async def test_a_component_that_returns_on_its_own_is_started_again() -> None:
    stop = asyncio.Event()
    runs = 0

    async def component() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            stop.set()  # the process's own stop: the end

    restarts = await asyncio.wait_for(keep_running("part", component, stop, first_s=0.01), 2)
    assert runs == 2 and restarts == 1


async def test_stop_during_the_wait_ends_it_at_once() -> None:
    stop = asyncio.Event()

    async def component() -> None:
        raise RuntimeError("down")

    task = asyncio.create_task(keep_running("part", component, stop, first_s=30))
    await asyncio.sleep(0.1)
    stop.set()
    assert await asyncio.wait_for(task, 1) == 0
