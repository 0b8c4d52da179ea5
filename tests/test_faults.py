"""Faults against real processes: `python -m service serve` on loopback and workers built on
the real runtime (tests/fault_worker.py), killed with SIGKILL, failing on purpose, cancelled
mid-job, and a client repeating an update whose answer it lost.

What they show: every job reaches done/completed with exactly one completion per stage, even
when workers die mid-job (at-least-once delivery, recovered within lease + reap interval);
leases fence workers (never two live claims of one job); failed runs come back after the
configured backoff and end as dead letters an operator can requeue; a cancelled job's worker
stops and reports nothing; a repeated update answers 200 and writes no second history row.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import JSON
from tests.serving import (
    ROOT,
    free_port,
    log_tail,
    log_text,
    start_process,
    stop_process,
    wait_healthy,
)

pytestmark = pytest.mark.slow

WORKER = str(ROOT / "tests" / "fault_worker.py")
OUTCOMES = {"stage_finished", "completed", "retry_scheduled", "failed"}


# Processes


@dataclass
class Service:
    url: str
    proc: subprocess.Popen


@contextmanager
def serve(**flags: Any) -> Iterator[Service]:
    """`python -m service serve` with these flags (lease_seconds=2 → --lease-seconds 2)."""
    port = free_port()
    args = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    for name, value in flags.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    proc = start_process(args)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield Service(url, proc)
    finally:
        stop_process(proc)
        Path(proc.log_path).unlink(missing_ok=True)  # type: ignore[attr-defined]


class Fleet:
    """The fault_worker processes of one test: started, killed, and always stopped at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.procs: list[subprocess.Popen] = []

    def start(self, worker_id: str, *args: Any) -> subprocess.Popen:
        command = [sys.executable, WORKER, "--api-url", self.url, "--worker-id", worker_id]
        command += ["--grace-seconds", "1", *map(str, args)]
        proc = start_process(command)
        proc.worker_id = worker_id  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def live(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.poll() is None]

    def kill(self, proc: subprocess.Popen) -> datetime:
        """SIGKILL: the process gets no chance to hand anything back. Returns when."""
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = datetime.now(UTC)
        proc.wait(10)
        return killed_at

    def lines(self, word: str) -> list[list[str]]:
        """Every process's stdout lines starting with `word`, split (word dropped)."""
        return [
            line.split()[1:]
            for proc in self.procs
            for line in log_text(proc).splitlines()
            if line.startswith(f"{word} ")
        ]

    def tails(self) -> str:
        return "\n".join(f"--- {p.worker_id}:\n{log_tail(p, 15)}" for p in self.procs)  # type: ignore[attr-defined]

    def close(self) -> None:
        for proc in self.procs:
            stop_process(proc, timeout=5)
        for proc in self.procs:
            Path(proc.log_path).unlink(missing_ok=True)  # type: ignore[attr-defined]


@contextmanager
def fleet(url: str) -> Iterator[Fleet]:
    workers = Fleet(url)
    try:
        yield workers
    finally:
        workers.close()


# Reading the service


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def add(http: httpx.Client, app_id: str, **fields: Any) -> str:
    answer = http.post("/queue/add", json={"app_id": app_id, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()["job_id"]


def job(http: httpx.Client, job_id: str) -> dict:
    return http.get(f"/queue/jobs/{job_id}").raise_for_status().json()


def history(http: httpx.Client, job_id: str) -> list[dict]:
    return http.get(f"/queue/jobs/{job_id}/history").raise_for_status().json()


def events(rows: list[dict]) -> list[str]:
    return [row["event"] for row in rows]


def state(found: dict) -> str:
    return f"{found['stage']}/{found['status']}"


def wait_state(http: httpx.Client, job_id: str, wanted: str, timeout: float) -> dict:
    return wait_for(
        lambda: (found := job(http, job_id)) and state(found) == wanted and found,
        timeout,
        f"job {job_id} to be {wanted}",
    )


# 1. kill -9 under load

JOBS = 100
SLEEP = 0.5  # each job, each stage
LEASE = 2  # claimed by the workers (the service's default is much longer)
REAP = 0.5
SLACK = 1.0  # scheduling on a loaded 2-core machine
KILLS = 6
KILL_EVERY = 2.0
WORKERS = 3


def kill_one_lease_holder(http: httpx.Client, workers: Fleet) -> tuple[str, datetime] | None:
    """SIGKILL a live worker that is mid-job right now (claimed less than half a job ago, so
    it is not about to report); None if no such worker turns up within a second."""
    for _ in range(10):
        held = http.get(
            "/queue/poll", params={"stage": "any", "status": "processing", "limit": 100}
        ).json()
        now = datetime.now(UTC)
        fresh = Counter(
            j["worker_id"] for j in held if (now - at(j["updated_at"])).total_seconds() < SLEEP / 2
        )
        live = {p.worker_id: p for p in workers.live()}  # type: ignore[attr-defined]
        candidates = [w for w, _ in fresh.most_common() if w in live]
        if candidates:
            return candidates[0], workers.kill(live[candidates[0]])
        time.sleep(0.1)
    return None


def test_kill_9_mid_job_loses_nothing_and_never_overlaps_leases():
    with (
        serve(lease_seconds=60, reap_interval=REAP, max_retries=3) as service,
        fleet(service.url) as workers,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):
        # Runs to spare: a job may be hit by several kills; running out is not under test here.
        job_ids = [add(http, f"fault.kill.{n}", max_retries=10) for n in range(JOBS)]
        args = ("--stage", "scraper,nlp", "--sleep", SLEEP, "--lease-seconds", LEASE)
        for n in range(WORKERS):
            workers.start(f"w{n}", *args)

        kills: dict[str, datetime] = {}
        deadline = time.monotonic() + KILLS * KILL_EVERY + 30
        while len(kills) < KILLS and time.monotonic() < deadline:
            time.sleep(KILL_EVERY)
            killed = kill_one_lease_holder(http, workers)
            if killed is not None:
                kills[killed[0]] = killed[1]
                workers.start(f"w{len(workers.procs)}", *args)
        assert len(kills) >= 5, f"only {len(kills)} kills hit a lease holder:\n{workers.tails()}"

        def all_done() -> bool:
            done = http.get(
                "/queue/poll", params={"stage": "done", "status": "completed", "limit": JOBS}
            ).json()
            return http.get("/queue/overview").json()["counts"] == {} and len(done) == JOBS

        try:
            wait_for(all_done, 60, f"all {JOBS} jobs done/completed", every=0.5)
        except AssertionError:
            overview = http.get("/queue/overview").json()
            counts = (overview["counts"], overview["finished_today"])
            raise AssertionError(f"{counts}\n{workers.tails()}\n{log_tail(service.proc)}") from None

        histories = {job_id: history(http, job_id) for job_id in job_ids}
        finished_lines = workers.lines("FINISHED")

    expired_by_killed: Counter[str] = Counter()
    for job_id, rows in histories.items():
        seen = Counter(events(rows))
        # Exactly one completion per stage: one hand-over to nlp, one completion.
        assert seen["stage_finished"] == 1 and seen["completed"] == 1, (job_id, events(rows))
        assert seen["failed"] == seen["retry_scheduled"] == 0, (job_id, events(rows))
        # At-least-once: one claim per stage, plus one more after each expired lease.
        assert seen["claimed"] == 2 + seen["lease_expired"], (job_id, events(rows))
        for claim, after in pairwise(rows):
            if claim["event"] != "claimed":
                continue
            # Fencing: a claim ends by its own worker's outcome, or by the lease expiring,
            # before anyone else can claim the job.
            assert after["event"] in OUTCOMES | {"lease_expired"}, (job_id, claim, after)
            assert after.get("worker_id") == claim.get("worker_id"), (job_id, claim, after)
            if after["event"] != "lease_expired":
                continue
            held = (at(after["timestamp"]) - at(claim["timestamp"])).total_seconds()
            # Never reaped before the lease ran out, and recovered promptly: the last
            # heartbeat is at most one job's length after the claim, then lease + reap.
            assert held >= LEASE - 0.002, (job_id, claim, after)
            assert held <= SLEEP + LEASE + REAP + SLACK, (job_id, claim, after, held)
            killed_at = kills.get(claim.get("worker_id"))
            if killed_at is not None:
                expired_by_killed[claim.get("worker_id")] += 1
                since_kill = (at(after["timestamp"]) - killed_at).total_seconds()
                # The dead worker's jobs wait for its lease to run out, then one reap sweep.
                assert 0 < since_kill <= LEASE + REAP + SLACK, (job_id, after, since_kill)

    # Every kill hit a process that held a lease, and its jobs came back.
    assert set(expired_by_killed) == set(kills), (kills, expired_by_killed)
    # Who finished what, as the workers saw it: never a stage twice, and as history says.
    finished = Counter((job_id, stage) for job_id, stage, _ in finished_lines)
    assert max(finished.values()) == 1, [k for k, n in finished.items() if n > 1][:5]
    stage_of = {"stage_finished": "scraper", "completed": "nlp"}
    finisher = {
        (row["job_id"], stage_of[row["event"]]): row.get("worker_id")
        for rows in histories.values()
        for row in rows
        if row["event"] in stage_of
    }
    for job_id, stage, worker_id in finished_lines:
        assert finisher[(job_id, stage)] == worker_id
    # A finish missing from the logs can only be one a killed worker sent as it died.
    unlogged = set(finisher) - set(finished)
    assert all(finisher[key] in kills for key in unlogged), unlogged


# 2-4. Retries with backoff, dead letters and requeue, cancel: one service for each test

BASE = 0.5  # first retry delay; doubles per attempt
CAP = 2.0
IDLE_POLL = 1.0  # the fault workers' longest pause between empty polls


@contextmanager
def retrying_service() -> Iterator[tuple[httpx.Client, Fleet]]:
    with (
        serve(
            lease_seconds=60,
            reap_interval=REAP,
            max_retries=3,
            retry_base_seconds=BASE,
            retry_max_seconds=CAP,
        ) as service,
        fleet(service.url) as workers,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):
        yield http, workers


def claims_after(rows: list[dict], event: str) -> list[float]:
    """Seconds from each `event` row to the next claim."""
    gaps = []
    for n, row in enumerate(rows):
        if row["event"] == event:
            claim = next(r for r in rows[n + 1 :] if r["event"] == "claimed")
            gaps.append((at(claim["timestamp"]) - at(row["timestamp"])).total_seconds())
    return gaps


def test_a_job_failing_twice_is_retried_after_its_backoff_and_completes_on_the_third_run():
    with retrying_service() as (http, workers):
        flags = ("--sleep", 0.05, "--idle-poll-max", IDLE_POLL)
        workers.start("flaky-scraper", "--stage", "scraper", "--fail-first", 2, *flags)
        workers.start("nlp", "--stage", "nlp", *flags)
        job_id = add(http, "fault.flaky")
        done = wait_state(http, job_id, "done/completed", timeout=30)
        rows = history(http, job_id)
        started = workers.lines("STARTED")
        failing = workers.lines("FAILING")

    assert events(rows) == [
        "created",
        "claimed",
        "retry_scheduled",
        "claimed",
        "retry_scheduled",
        "claimed",
        "stage_finished",
        "claimed",
        "completed",
    ]
    retried = [r for r in rows if r["event"] == "retry_scheduled"]
    assert all(r["stage"] == "scraper" and r["status"] == "queued" for r in retried)
    assert [r["error_message"] for r in retried] == [
        "injected failure on attempt 1",
        "injected failure on attempt 2",
    ]
    assert done["retries"] == 2
    assert [(s[1], s[3]) for s in started if s[0] == job_id] == [
        ("scraper", "1"),
        ("scraper", "2"),
        ("scraper", "3"),
        ("nlp", "1"),
    ]
    assert len(failing) == 2
    # Backoff: BASE after the first failure, 2 * BASE after the second (capped at CAP), each
    # within +-10% jitter; the claim follows once the worker next polls.
    for n, gap in enumerate(claims_after(rows, "retry_scheduled")):
        delay = min(BASE * 2**n, CAP)
        assert 0.9 * delay <= gap <= 1.1 * delay + IDLE_POLL + SLACK, (n, gap, rows)


def test_a_job_that_always_fails_becomes_a_dead_letter_and_an_operator_requeues_it():
    with retrying_service() as (http, workers):
        workers.start("broken", "--stage", "scraper", "--always-fail", "--sleep", 0.05)
        job_id = add(http, "fault.broken", max_retries=2)
        dead = wait_state(http, job_id, "scraper/error", timeout=30)
        first_rows = history(http, job_id)
        letters = http.get("/queue/dead-letter").json()

        requeued = http.post(f"/queue/{job_id}/requeue", headers=JSON)
        assert requeued.status_code == 200, requeued.text
        assert state(requeued.json()) == "scraper/queued"
        still_dead = http.get("/queue/dead-letter").json()["jobs"]

        # Runs reset: it is claimed again, and after three more runs it is back.
        wait_state(http, job_id, "scraper/error", timeout=30)
        rows = history(http, job_id)
        again = http.get("/queue/dead-letter").json()

    runs = ["claimed", "retry_scheduled", "claimed", "retry_scheduled", "claimed", "failed"]
    assert events(first_rows) == ["created", *runs]
    assert dead["retries"] == 2 and dead["max_retries"] == 2
    assert dead["error_message"] == "injected failure on attempt 3"
    assert [j["job_id"] for j in letters["jobs"]] == [job_id] and letters["total"] == 1
    assert job_id not in [j["job_id"] for j in still_dead]

    assert events(rows) == ["created", *runs, "requeued", *runs]
    requeue_row = rows[len(first_rows)]
    assert requeue_row.get("worker_id") == "operator"
    assert (requeue_row["stage"], requeue_row["status"]) == ("scraper", "queued")
    assert rows[len(first_rows) + 1].get("worker_id") == "broken"
    assert [j["job_id"] for j in again["jobs"]] == [job_id]


def test_cancel_while_processing_stops_the_worker_who_reports_nothing_and_carries_on():
    lease = 3  # a heartbeat every second
    with retrying_service() as (http, workers):
        slow = workers.start("slow", "--stage", "scraper", "--sleep", 10, "--lease-seconds", lease)
        job_id = add(http, "fault.cancelled")
        wait_state(http, job_id, "scraper/processing", timeout=15)
        wait_for(lambda: workers.lines("STARTED"), 5, "the processor to start")

        cancelled = http.post(f"/queue/{job_id}/cancel", headers=JSON)
        assert cancelled.status_code == 200, cancelled.text
        assert state(cancelled.json()) == "scraper/cancelled"
        asked = time.monotonic()
        # The next heartbeat (a third of the lease away at most) gets 409: processor stopped.
        stopped = wait_for(
            lambda: [s for s in workers.lines("STOPPED") if s[0] == job_id],
            lease / 3 + 2 * SLACK,
            "the worker to stop the cancelled job",
        )
        took = time.monotonic() - asked
        time.sleep(1.0)  # room for a (wrong) late finish or fail
        after = job(http, job_id)
        rows = history(http, job_id)
        reported = [
            line for word in ("FINISHING", "FAILING", "RELEASING") for line in workers.lines(word)
        ]

        # The same process carries on with the next job.
        next_id = add(http, "fault.after-cancel", params={"sleep": 0.2})
        finished = wait_for(
            lambda: [f for f in workers.lines("FINISHED") if f[0] == next_id],
            15,
            f"the worker to finish the next job:\n{workers.tails()}",
        )
        alive = slow.poll() is None
        next_rows = history(http, next_id)

    assert stopped == [[job_id, "scraper", "slow", "cancelled"]]  # by the 409 heartbeat
    assert took < lease / 3 + 2 * SLACK
    assert state(after) == "scraper/cancelled"
    assert events(rows) == ["created", "claimed", "cancelled"]  # nothing after the cancel
    assert rows[-1].get("worker_id") == "operator"
    assert not [r for r in reported if r[0] == job_id]
    assert finished == [[next_id, "scraper", "slow"]]
    assert alive
    assert events(next_rows) == ["created", "claimed", "stage_finished"]
    assert next_rows[1].get("worker_id") == "slow"


# 5. An update repeated after its answer was lost


def test_a_repeated_update_answers_200_and_writes_one_history_row():
    with (
        serve(lease_seconds=60, reap_interval=REAP, retry_base_seconds=0) as service,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):

        def claim(stage: str, worker_id: str = "retrying-client") -> str:
            body = {"stage": stage, "worker_id": worker_id}
            claimed = wait_for(
                lambda: http.post("/queue/poll", json=body).json(), 5, f"a {stage} job"
            )
            return claimed[0]["lease_token"]

        def update(job_id: str, body: dict, times: int = 2) -> None:
            """The same update sent again, as a client does when it lost the first answer."""
            for _ in range(times):
                answer = http.post(f"/queue/{job_id}/update", json=body)
                assert answer.status_code == 200, answer.text

        job_id = add(http, "fault.repeat")
        token = claim("scraper")
        update(job_id, {"stage": "nlp", "status": "queued", "lease_token": token})
        token = claim("nlp")
        failure = {"stage": "nlp", "status": "error", "error_message": "boom", "retryable": True}
        update(job_id, {**failure, "lease_token": token})
        # Retried once more after another worker claimed the retry: still 200, and that
        # worker's lease is untouched.
        new_token = claim("nlp", "other-client")
        update(job_id, {**failure, "lease_token": token}, times=1)
        taken = job(http, job_id)
        update(job_id, {"stage": "done", "status": "completed", "lease_token": new_token})
        rows = history(http, job_id)
        final = job(http, job_id)

        dead_id = add(http, "fault.repeat-dead")
        token = claim("scraper")
        final_failure = {**failure, "stage": "scraper", "retryable": False}
        update(dead_id, {**final_failure, "lease_token": token})
        dead_rows = history(http, dead_id)
        dead = job(http, dead_id)

    assert events(rows) == [
        "created",
        "claimed",
        "stage_finished",
        "claimed",
        "retry_scheduled",
        "claimed",
        "completed",
    ]
    assert [r.get("worker_id") for r in rows if r["event"] == "completed"] == ["other-client"]
    assert state(taken) == "nlp/processing" and taken["worker_id"] == "other-client"
    assert state(final) == "done/completed" and final["retries"] == 1
    assert events(dead_rows) == ["created", "claimed", "failed"]
    assert state(dead) == "scraper/error"
