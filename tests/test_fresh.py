"""service/fresh.py: a polled value computed at most once every few seconds, shared by the
callers that ask while it is computed, a failure not kept."""

import asyncio

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from service.fresh import Fresh
from tests.serving import run_python


class Counted:
    """A computation that answers from a list, once `release` is set, counting its calls."""

    def __init__(self, *answers, before=None):
        self.answers = list(answers)
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()
        self.before = before  # called as the computation starts

    async def __call__(self):
        self.calls += 1
        if self.before:
            self.before()
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


async def test_the_value_is_as_old_as_the_start_of_its_computation():
    now = [0.0]
    slow = Counted("slow", "next", before=lambda: now.__setitem__(0, now[0] + 10.0))
    fresh = Fresh(5.0, clock=lambda: now[0])
    assert await fresh.get("k", slow) == "slow"  # started at 0, done at 10
    assert await fresh.get("k", slow) == "next" and slow.calls == 2


ALL_CALLERS_LEAVE = """
import asyncio
from service.fresh import Fresh

async def main():
    release, failed = asyncio.Event(), asyncio.Event()

    async def fail():
        await release.wait()
        failed.set()
        raise ConnectionError("the store does not answer")

    caller = asyncio.create_task(Fresh(60.0).get("k", fail))
    await asyncio.sleep(0)
    caller.cancel()  # the only caller hangs up ...
    await asyncio.gather(caller, return_exceptions=True)
    release.set()  # ... then the computation fails
    await failed.wait()
    for _ in range(3):  # its task ends, and its done callbacks run
        await asyncio.sleep(0)

asyncio.run(main())
"""


def test_a_failure_all_its_callers_left_is_not_logged_as_never_retrieved():
    # asyncio logs an unretrieved task exception when the task is collected: in a process
    # of its own, so that it happens at its end
    done = run_python("-c", ALL_CALLERS_LEAVE, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "never retrieved" not in done.stderr, done.stderr
