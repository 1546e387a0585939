"""Clocks for the simulated Asterisk: wall time, or a discrete-event clock (a day in seconds)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any


class Timer:
    """A scheduled callback that can be cancelled."""

    __slots__ = ("args", "callback", "cancelled", "handle")

    def __init__(self, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.callback = callback
        self.args = args
        self.cancelled = False
        self.handle: asyncio.TimerHandle | None = None

    def cancel(self) -> None:
        self.cancelled = True
        if self.handle is not None:
            self.handle.cancel()


class Clock(ABC):
    """What the PBX model needs from time: `now()` in epoch seconds and callbacks at a time."""

    @abstractmethod
    def now(self) -> float: ...

    @abstractmethod
    def call_at(self, when_s: float, callback: Callable[..., Any], *args: Any) -> Timer: ...

    def call_later(self, delay_s: float, callback: Callable[..., Any], *args: Any) -> Timer:
        return self.call_at(self.now() + max(0.0, delay_s), callback, *args)

    async def sleep(self, delay_s: float) -> None:
        """Wait `delay_s` of this clock's time (used by the FastAGI client for prompt lengths)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.call_later(delay_s, self.wake, fut)
        await self.wait(fut)

    def wake(self, fut: asyncio.Future[None]) -> None:
        """Resolve `fut`, and hold time still until its waiter (`wait`) has run on.

        Without the hold a virtual clock would go on with the batch in hand while the
        woken task is only scheduled: its next step (an AGI reply, say) would happen later
        than its moment, by an amount that depends on the machine's load."""
        if not fut.done():
            self.hold()
            fut.set_result(None)

    async def wait(self, fut: asyncio.Future[None]) -> None:
        """Await a future resolved by `wake`; time moves on again once this task runs."""
        try:
            await fut
        finally:
            if fut.done() and not fut.cancelled():
                self.release()

    @abstractmethod
    async def run_until(self, when_s: float) -> None:
        """Let simulated time reach `when_s` (wall-clock wait, or processing of due events)."""

    def hold(self) -> None:  # noqa: B027 - a no-op for wall time, by design
        """Outside work is in progress (e.g. a FastAGI exchange): do not advance past now."""

    def release(self) -> None:  # noqa: B027 - a no-op for wall time, by design
        """The outside work announced by `hold()` is done."""


class RealClock(Clock):
    """Wall-clock time on the running asyncio loop."""

    def now(self) -> float:
        return time.time()

    def call_at(self, when_s: float, callback: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(callback, args)
        loop = asyncio.get_running_loop()
        timer.handle = loop.call_later(max(0.0, when_s - time.time()), callback, *args)
        return timer

    async def run_until(self, when_s: float) -> None:
        delay_s = when_s - time.time()
        if delay_s > 0:
            await asyncio.sleep(delay_s)


class VirtualClock(Clock):
    """A discrete-event clock: time jumps from one scheduled callback to the next.

    `run_until` processes due callbacks in batches and yields to the asyncio loop between
    batches so AMI sessions can flush; while `hold()` is in force (a FastAGI exchange on
    the wire) time does not move, so outside parties see consistent timings.
    """

    def __init__(self, start_s: float = 1795310945.2, batch: int = 2000) -> None:
        self._now_s = start_s
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._holds = 0
        self._released: asyncio.Event | None = None
        self.batch = batch
        self.after_batch: Callable[[], Any] | None = None

    def now(self) -> float:
        return self._now_s

    def call_at(self, when_s: float, callback: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(callback, args)
        heapq.heappush(self._heap, (max(when_s, self._now_s), next(self._seq), timer))
        return timer

    def hold(self) -> None:
        self._holds += 1

    def release(self) -> None:
        self._holds -= 1
        if self._holds <= 0 and self._released is not None:
            self._released.set()

    async def _wait_holds(self) -> None:
        while self._holds > 0:
            self._released = asyncio.Event()
            # A FastAGI peer that never answers must not freeze the simulation forever.
            try:
                await asyncio.wait_for(self._released.wait(), timeout=30)
            except TimeoutError:
                return

    async def run_until(self, when_s: float) -> None:
        heap = self._heap
        while True:
            await asyncio.sleep(0)
            await self._wait_holds()
            done = 0
            while heap and heap[0][0] <= when_s and done < self.batch:
                due_s, _, timer = heapq.heappop(heap)
                if timer.cancelled:
                    continue
                self._now_s = due_s
                timer.callback(*timer.args)
                done += 1
                if self._holds:
                    break
            if self.after_batch is not None:
                await self.after_batch()
            if done == 0 and not self._holds and not (heap and heap[0][0] <= when_s):
                break
        self._now_s = max(self._now_s, when_s)
