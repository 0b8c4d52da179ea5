"""service/fresh.py: a polled value computed at most once every few seconds, shared by the
callers that ask while it is computed, a failure not kept."""

import asyncio

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from service.fresh import Fresh


class Counted:
    """A computation that answers from a list, once `release` is set, counting its calls."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self):
        self.calls += 1
        await self.release.wait()
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_the_value_is_kept_for_its_seconds_by_the_clock():
    now = [100.0]
    compute = Counted("first", "second")
    fresh = Fresh(2.0, clock=lambda: now[0])
    assert await fresh.get("k", compute) == "first"
    now[0] = 101.9
    assert await fresh.get("k", compute) == "first" and compute.calls == 1
    now[0] = 102.0
    assert await fresh.get("k", compute) == "second" and compute.calls == 2


async def test_another_key_is_computed_and_only_the_latest_is_kept():
    compute = Counted("monday", "tuesday", "monday again")
    fresh = Fresh(60.0)
    assert await fresh.get("2026-11-23", compute) == "monday"
    assert await fresh.get("2026-11-24", compute) == "tuesday"
    assert await fresh.get("2026-11-23", compute) == "monday again" and compute.calls == 3


async def test_callers_while_it_runs_share_the_run_and_a_leaver_does_not_cancel_it():
    compute = Counted("shared")
    compute.release.clear()
    fresh = Fresh(2.0)
    callers = [asyncio.create_task(fresh.get("k", compute)) for _ in range(5)]
    await asyncio.sleep(0)
    callers[0].cancel()  # a client that hung up
    compute.release.set()
    answers = await asyncio.gather(*callers, return_exceptions=True)
    assert isinstance(answers[0], asyncio.CancelledError)
    assert answers[1:] == ["shared"] * 4 and compute.calls == 1


async def test_a_failure_is_not_kept():
    compute = Counted(ServerSelectionTimeoutError("No servers found yet"), "back")
    fresh = Fresh(60.0)
    with pytest.raises(ServerSelectionTimeoutError):
        await fresh.get("k", compute)
    assert await fresh.get("k", compute) == "back" and compute.calls == 2
