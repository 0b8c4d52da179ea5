"""Fresh: a value computed at most once every few seconds, for reads that anyone may poll and
that cost more as the data grows (GET /health, today's report).

Callers in between get the value kept; callers while it is computed wait for that computation
rather than start their own, and one that goes away (a client that hung up) does not cancel it
for the others. A failure is not kept: the next caller computes again. Only the latest key's
value is kept (today's report is kept per date: at midnight the next day's is computed).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Fresh(Generic[T]):
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._kept: tuple[Hashable, float, T] | None = None
        self._running: dict[Hashable, asyncio.Task[T]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        kept = self._kept
        if kept is not None and kept[0] == key and self.clock() - kept[1] < self.seconds:
            return kept[2]
        running = self._running.get(key)
        if running is None:
            running = self._running[key] = asyncio.create_task(self._compute(key, compute))
            running.add_done_callback(_retrieved)
        return await asyncio.shield(running)

    async def _compute(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        started = self.clock()  # the value is as old as the start of its computation
        try:
            value = await compute()
            self._kept = (key, started, value)
            return value
        finally:
            del self._running[key]


def _retrieved(task: asyncio.Task) -> None:
    """A failure whose callers all went away (shield forgets the task when its caller is
    cancelled) is nobody's to handle: not asyncio's to log as "never retrieved"."""
    if not task.cancelled():
        task.exception()
