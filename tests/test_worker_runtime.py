"""The worker runtime (queue_client) against a real `python -m service serve` on loopback."""

import asyncio
import inspect
import itertools
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from queue_client import (
    JobContext,
    LeaseLostError,
    NonRetryableError,
    QueueClient,
    ServiceError,
    ServiceUnavailableError,
    Worker,
    worker_from_options,
    worker_options,
)
from queue_client.backoff import BackoffPolicy
from tests.serving import (
    free_port,
    log_text,
    run_python,
    running_service,
    start_process,
    stop_process,
)

FAST_RETRY = BackoffPolicy(initial=0.05, maximum=0.5)
SLEEPY_WORKER = str(Path(__file__).with_name("sleepy_worker.py"))


# Helpers


@pytest.fixture
def service() -> Iterator[str]:
    with running_service(reap_interval=0.2) as url:
        yield url


@pytest.fixture
async def api(service: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service, timeout=5) as client:
        yield client


class Tap(httpx.AsyncBaseTransport):
    """Forwards to the real service, records every request, and injects faults on demand:
    `fault(request)` may answer "503", "connect" (connection refused) or "lose" (the service
    applies the request, the answer is lost: a read timeout)."""

    def __init__(self, fault: Callable[[httpx.Request], str | None] | None = None) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.fault = fault
        self.requests: list[tuple[str, str, dict | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        action = self.fault(request) if self.fault else None
        if action == "503":
            return httpx.Response(503, json={"error": "injected outage"})
        if action == "connect":
            raise httpx.ConnectError("injected: connection refused", request=request)
        response = await self.inner.handle_async_request(request)
        if action == "lose":
            await response.aread()
            await response.aclose()
            raise httpx.ReadTimeout("injected: answer lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def bodies(self, path_end: str) -> list[dict | None]:
        return [body for _, path, body in self.requests if path.endswith(path_end)]


def make_worker(
    url: str,
    stage: str,
    processor: Callable[[JobContext], Awaitable[None]],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    worker_id: str = "test-worker",
    **options,
) -> Worker:
    client = QueueClient(
        url, worker_id=worker_id, timeout=5, transport=transport, retry_policy=FAST_RETRY
    )
    options.setdefault("idle_poll_min", 0.02)
    options.setdefault("idle_poll_max", 0.1)
    return Worker(client, stage, processor, **options)


@asynccontextmanager
async def running(*workers: Worker, stop_within: float = 15) -> AsyncIterator[list[asyncio.Task]]:
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield tasks
    finally:
        for worker in workers:
            worker.stop()
        try:
            async with asyncio.timeout(stop_within):
                await asyncio.gather(*tasks)
        finally:
            for worker in workers:
                await worker.client.aclose()


async def wait_until(check: Callable[[], object], timeout: float = 10) -> object:
    """Poll `check` (plain or async) until it returns something true."""
    async with asyncio.timeout(timeout):
        while True:
            found = check()
            if inspect.isawaitable(found):
                found = await found
            if found:
                return found
            await asyncio.sleep(0.05)


async def add(api: httpx.AsyncClient, app_id: str) -> str:
    response = await api.post("/queue/add", json={"app_id": app_id})
    assert response.status_code == 201, response.text
    return response.json()["job_id"]


async def job_of(api: httpx.AsyncClient, job_id: str) -> dict:
    response = await api.get(f"/queue/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def history_of(api: httpx.AsyncClient, job_id: str) -> list[dict]:
    response = await api.get(f"/queue/jobs/{job_id}/history")
    assert response.status_code == 200, response.text
    return response.json()


def in_state(api: httpx.AsyncClient, job_id: str, stage: str, status: str):
    async def check() -> dict | None:
        job = await job_of(api, job_id)
        return job if (job["stage"], job["status"]) == (stage, status) else None

    return check


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


# Through both stages


async def test_jobs_go_through_both_stages(service: str, api: httpx.AsyncClient) -> None:
    seen: list[tuple[str, str]] = []

    async def process(context: JobContext) -> None:
        seen.append((context.job["stage"], context.job["app_id"]))
        await context.progress(100, "done")

    scraper = make_worker(service, "scraper", process, worker_id="scraper-1")
    nlp = make_worker(service, "nlp", process, worker_id="nlp-1")
    job_ids = [await add(api, app) for app in ("com.example.one", "com.example.two")]
    async with running(scraper, nlp):
        for job_id in job_ids:
            await wait_until(in_state(api, job_id, "done", "completed"))

    assert sorted(seen) == [
        ("nlp", "com.example.one"),
        ("nlp", "com.example.two"),
        ("scraper", "com.example.one"),
        ("scraper", "com.example.two"),
    ]
    rows = await history_of(api, job_ids[0])
    assert [(r["stage"], r["status"], r["event"]) for r in rows] == [
        ("scraper", "queued", "created"),
        ("scraper", "processing", "claimed"),
        ("nlp", "queued", "stage_finished"),
        ("nlp", "processing", "claimed"),
        ("done", "completed", "completed"),
    ]
    assert rows[1]["worker_id"] == "scraper-1"
    assert rows[3]["worker_id"] == "nlp-1"


async def test_heartbeats_extend_the_lease_and_carry_progress(
    service: str, api: httpx.AsyncClient
) -> None:
    """A 2-second lease, a 3.5-second processor, a reaper every 0.2 s: only heartbeats keep
    the job."""
    first_expiry: list[str] = []
    reported = asyncio.Event()

    async def process(context: JobContext) -> None:
        first_expiry.append(context.job["lease_expires_at"])
        await context.progress(40, "scraping page 2")
        reported.set()
        await asyncio.sleep(3.5)

    tap = Tap()
    worker = make_worker(service, "scraper", process, transport=tap, lease_seconds=2)
    job_id = await add(api, "com.example.beat")
    async with running(worker):
        await wait_until(lambda: reported.is_set())
        running_job = await job_of(api, job_id)
        assert running_job["progress"] == 40
        assert running_job["progress_message"] == "scraping page 2"
        await asyncio.sleep(1.5)
        extended = await job_of(api, job_id)
        assert extended["status"] == "processing"
        assert parse_time(extended["lease_expires_at"]) > parse_time(first_expiry[0])
        await wait_until(in_state(api, job_id, "nlp", "queued"))

    beats = tap.bodies("/heartbeat")
    assert len(beats) >= 3  # the progress report and one every ~0.67 s
    assert beats[0] == {
        "lease_token": beats[0]["lease_token"],
        "progress": 40,
        "message": "scraping page 2",
    }
    events = [r["event"] for r in await history_of(api, job_id)]
    assert events == ["created", "claimed", "stage_finished"]  # never reaped


# Failures


async def test_a_processor_exception_fails_the_job_as_retryable(
    service: str, api: httpx.AsyncClient
) -> None:
    async def process(context: JobContext) -> None:
        worker.stop()  # one run is enough: the service may schedule a retry
        raise RuntimeError("the store page did not load")

    tap = Tap()
    worker = make_worker(service, "scraper", process, transport=tap)
    job_id = await add(api, "com.example.broken")
    async with running(worker) as [task]:
        async with asyncio.timeout(10):
            await task

    [failure] = tap.bodies("/update")
    assert failure == {
        "stage": "scraper",
        "status": "error",
        "error_message": "the store page did not load",
        "retryable": True,
        "lease_token": failure["lease_token"],
    }
    job = await job_of(api, job_id)
    # Today the job stays in error; with retries it is queued again after a backoff.
    assert (job["stage"], job["status"]) in {("scraper", "error"), ("scraper", "queued")}
    assert job["error_message"] == "the store page did not load"
    last = (await history_of(api, job_id))[-1]
    assert last["event"] in {"failed", "retry_scheduled"}
    assert last["error_message"] == "the store page did not load"


async def test_non_retryable_error_is_sent_with_retryable_false(
    service: str, api: httpx.AsyncClient
) -> None:
    async def process(context: JobContext) -> None:
        raise NonRetryableError("app not found in the store")

    tap = Tap()
    worker = make_worker(service, "scraper", process, transport=tap)
    job_id = await add(api, "com.example.gone")
    async with running(worker):
        job = await wait_until(in_state(api, job_id, "scraper", "error"))

    assert job["error_message"] == "app not found in the store"
    [failure] = tap.bodies("/update")
    assert failure == {
        "stage": "scraper",
        "status": "error",
        "error_message": "app not found in the store",
        "retryable": False,
        "lease_token": failure["lease_token"],
    }
    rows = await history_of(api, job_id)
    assert [r["event"] for r in rows] == ["created", "claimed", "failed"]
    assert rows[-1]["worker_id"] == "test-worker"


async def test_a_lost_lease_cancels_the_processor_and_reports_nothing(
    service: str, api: httpx.AsyncClient
) -> None:
    started: list[dict] = []
    cancelled = asyncio.Event()

    async def process(context: JobContext) -> None:
        started.append(dict(context.job))
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    tap = Tap()
    worker = make_worker(service, "scraper", process, transport=tap, lease_seconds=1)
    job_id = await add(api, "com.example.taken")
    async with running(worker):
        await wait_until(lambda: bool(started))
        # Someone else (an operator, the reaper) ends the lease: the next heartbeat gets 409.
        response = await api.post(
            f"/queue/{job_id}/update",
            json={
                "stage": "scraper",
                "status": "error",
                "error_message": "cancelled by an operator",
                "retryable": False,
                "lease_token": started[0]["lease_token"],
            },
        )
        assert response.status_code == 200, response.text
        async with asyncio.timeout(5):
            await cancelled.wait()
        await asyncio.sleep(0.2)

    assert tap.bodies("/update") == []
    rows = await history_of(api, job_id)
    assert [(r["event"], r.get("error_message")) for r in rows] == [
        ("created", None),
        ("claimed", None),
        ("failed", "cancelled by an operator"),
    ]


# Concurrency


async def test_concurrency_runs_n_jobs_at_once(service: str, api: httpx.AsyncClient) -> None:
    now_running = 0
    peak = 0
    three_at_once = asyncio.Event()

    async def process(context: JobContext) -> None:
        nonlocal now_running, peak
        now_running += 1
        peak = max(peak, now_running)
        if now_running == 3:
            three_at_once.set()
        try:
            async with asyncio.timeout(5):
                await three_at_once.wait()
            await asyncio.sleep(0.1)
        finally:
            now_running -= 1

    worker = make_worker(service, "scraper", process, concurrency=3)
    job_ids = [await add(api, f"com.example.c{i}") for i in range(5)]
    async with running(worker):
        for job_id in job_ids:
            await wait_until(in_state(api, job_id, "nlp", "queued"))

    assert three_at_once.is_set()
    assert peak == 3


# Graceful shutdown


async def test_stop_lets_a_running_job_finish_within_the_grace_period(
    service: str, api: httpx.AsyncClient
) -> None:
    started = asyncio.Event()

    async def process(context: JobContext) -> None:
        started.set()
        await asyncio.sleep(1.0)

    worker = make_worker(service, "scraper", process, grace_seconds=10)
    job_id = await add(api, "com.example.slow")
    task = asyncio.create_task(worker.run())
    async with asyncio.timeout(10):
        await started.wait()
    began = time.monotonic()
    worker.stop()
    async with asyncio.timeout(10):
        await task
    await worker.client.aclose()

    assert time.monotonic() - began < 5
    job = await job_of(api, job_id)
    assert (job["stage"], job["status"]) == ("nlp", "queued")


async def test_a_job_outliving_the_grace_period_is_handed_back_before_its_lease_ends(
    service: str, api: httpx.AsyncClient
) -> None:
    started: list[dict] = []

    async def process(context: JobContext) -> None:
        started.append(dict(context.job))
        assert not context.stopping
        await asyncio.sleep(60)

    worker = make_worker(service, "scraper", process, grace_seconds=0.5, lease_seconds=30)
    job_id = await add(api, "com.example.stuck")
    task = asyncio.create_task(worker.run())
    await wait_until(lambda: bool(started))
    began = time.monotonic()
    worker.stop()
    async with asyncio.timeout(10):
        await task
    await worker.client.aclose()

    assert time.monotonic() - began < 3
    job = await job_of(api, job_id)
    assert (job["stage"], job["status"], job["retries"]) == ("scraper", "queued", 0)
    assert parse_time(job["available_at"]) <= parse_time(job["updated_at"]), "no backoff"
    handed_back = (await history_of(api, job_id))[-1]
    assert handed_back["event"] == "released"
    assert parse_time(handed_back["timestamp"]) < parse_time(started[0]["lease_expires_at"])


async def test_stop_while_idle_returns_promptly(service: str) -> None:
    async def process(context: JobContext) -> None:
        raise AssertionError("no job was queued")

    worker = make_worker(service, "scraper", process, idle_poll_min=5, idle_poll_max=5)
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.3)
    began = time.monotonic()
    worker.stop()
    async with asyncio.timeout(5):
        await task
    await worker.client.aclose()
    assert time.monotonic() - began < 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sleep", "grace", "outcome"),
    [
        (1.5, 10, {("nlp", "queued", None)}),
        (60, 1, {("scraper", "queued", None)}),
    ],
    ids=["finishes-in-grace", "handed-back"],
)
def test_sigterm_stops_a_worker_process_with_exit_code_0(
    service: str, sleep: float, grace: float, outcome: set
) -> None:
    with httpx.Client(base_url=service, timeout=5) as api:
        job_id = api.post("/queue/add", json={"app_id": "com.example.sigterm"}).json()["job_id"]
        proc = start_process(
            [
                sys.executable,
                SLEEPY_WORKER,
                f"--sleep={sleep}",
                f"--api-url={service}",
                "--worker-id=sleepy-1",
                f"--grace-seconds={grace}",
            ]
        )
        try:
            deadline = time.monotonic() + 15
            while api.get(f"/queue/jobs/{job_id}").json()["status"] != "processing":
                assert time.monotonic() < deadline, log_text(proc)
                assert proc.poll() is None, log_text(proc)
                time.sleep(0.05)
            began = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=grace + 10)
            took = time.monotonic() - began
        finally:
            stop_process(proc)
        log = log_text(proc)
        assert code == 0, log
        assert took < grace + 3, log
        assert "Received SIGTERM" in log
        job = api.get(f"/queue/jobs/{job_id}").json()
    assert (job["stage"], job["status"], job.get("error_message")) in outcome
    Path(proc.log_path).unlink()


# An unreliable service


async def test_the_worker_survives_a_service_restart(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="queue_client")
    processed: list[str] = []

    async def process(context: JobContext) -> None:
        processed.append(context.job["app_id"])

    port = free_port()
    first = running_service(port=port)
    url = await asyncio.to_thread(first.__enter__)
    worker = make_worker(url, "scraper", process)
    async with running(worker) as [task], httpx.AsyncClient(base_url=url, timeout=5) as api:
        job_id = await add(api, "com.example.before")
        await wait_until(in_state(api, job_id, "nlp", "queued"))

        await asyncio.to_thread(first.__exit__, None, None, None)
        await wait_until(lambda: _logged(caplog, "Cannot claim scraper jobs"))
        await asyncio.sleep(1)
        assert not task.done()

        second = running_service(port=port)
        await asyncio.to_thread(second.__enter__)
        try:
            job_id = await add(api, "com.example.after")
            await wait_until(in_state(api, job_id, "nlp", "queued"))
        finally:
            await asyncio.to_thread(second.__exit__, None, None, None)

    assert processed == ["com.example.before", "com.example.after"]
    assert _logged(caplog, "The service answers again")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


async def test_a_finish_is_retried_until_it_lands(
    service: str, api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """503, connection refused, then an answer lost after the service applied it: the finish
    is sent again each time, and lands exactly once."""
    faults = ["503", "503", "connect", "lose"]

    def fault(request: httpx.Request) -> str | None:
        if request.url.path.endswith("/update") and faults:
            return faults.pop(0)
        return None

    async def process(context: JobContext) -> None:
        pass

    tap = Tap(fault)
    worker = make_worker(service, "scraper", process, transport=tap)
    job_id = await add(api, "com.example.flaky")
    async with running(worker):
        await wait_until(in_state(api, job_id, "nlp", "queued"))
        await wait_until(lambda: len(tap.bodies("/update")) == 5)

    finishes = tap.bodies("/update")
    assert len(finishes) == 5
    assert all(body == finishes[0] for body in finishes)
    events = [r["event"] for r in await history_of(api, job_id)]
    assert events == ["created", "claimed", "stage_finished"]
    retries = [r.getMessage() for r in caplog.records if "failed (" in r.getMessage()]
    assert len(retries) == 4
    assert "HTTP 503" in retries[0]
    assert "ConnectError" in retries[2]
    assert "ReadTimeout" in retries[3]


async def test_results_round_trip_through_both_workers(
    service: str, api: httpx.AsyncClient
) -> None:
    """The scraper uploads reviews in batches; the NLP stage pages through them and stores
    its analysis and summary, all under their leases."""

    async def scrape(context: JobContext) -> None:
        reviews = [
            {"review_id": f"r{i}", "content": f"review {i}", "score": i, "at": datetime(2026, 1, i)}
            for i in range(1, 4)
        ]
        await context.client.post_reviews(context.job, reviews[:2])
        await context.progress(50)
        await context.client.post_reviews(context.job, reviews[2:])

    async def analyse(context: JobContext) -> None:
        app_id = context.job["app_id"]
        reviews = [r async for r in context.client.iter_reviews(app_id, page_size=2)]
        analysis = [
            {"review_id": r["review_id"], "sentiment": {"compound": 0.5, "label": "positive"}}
            for r in reviews
        ]
        summary = {"review_count": len(reviews), "average_rating": 2.0}
        await context.client.put_analysis(context.job, analysis, summary)

    scraper = make_worker(service, "scraper", scrape)
    nlp = make_worker(service, "nlp", analyse)
    job_id = await add(api, "com.example.results")
    async with running(scraper, nlp):
        await wait_until(in_state(api, job_id, "done", "completed"))

    reader = QueueClient(service, worker_id="reader")
    try:
        reviews = [r async for r in reader.iter_reviews("com.example.results", page_size=2)]
        summary = await reader.summary("com.example.results")
        status = await reader.status("com.example.results")
    finally:
        await reader.aclose()
    assert [(r["review_id"], r["at"]) for r in reviews] == [
        ("r1", "2026-01-01T00:00:00.000Z"),
        ("r2", "2026-01-02T00:00:00.000Z"),
        ("r3", "2026-01-03T00:00:00.000Z"),
    ]
    assert all(r["analysis"]["sentiment"]["label"] == "positive" for r in reviews)
    assert (summary["review_count"], summary["average_rating"]) == (3, 2.0)
    assert (status["job_id"], status["stage"], status["status"]) == (job_id, "done", "completed")


# Without a service: idle polling, progress rate, the client, the options


class FakeService:
    """A stand-in for the service (httpx.MockTransport): hands out `jobs` once, answers
    heartbeats and updates through replaceable functions, records every request."""

    def __init__(self, jobs: list[dict]) -> None:
        self.jobs = list(jobs)
        self.requests: list[tuple[str, dict | None]] = []
        self.heartbeat: Callable[[int], httpx.Response] = lambda n: httpx.Response(200, json={})
        self.update: Callable[[int], httpx.Response] = lambda n: httpx.Response(200, json={})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path
        self.requests.append((path, body))
        if path == "/queue/poll":
            handed, self.jobs = self.jobs, []
            return httpx.Response(200, json=handed)
        if path.endswith("/heartbeat"):
            return self.heartbeat(len(self.calls("/heartbeat")))
        if path.endswith("/update"):
            return self.update(len(self.calls("/update")))
        return httpx.Response(404, json={"error": "Not Found"})

    def calls(self, path_end: str) -> list[dict | None]:
        return [body for path, body in self.requests if path.endswith(path_end)]

    def worker(self, processor: Callable[[JobContext], Awaitable[None]], **options) -> Worker:
        transport = httpx.MockTransport(self)
        return make_worker(
            "http://queue.test", "scraper", processor, transport=transport, **options
        )


def refuse(n: int) -> httpx.Response:
    raise httpx.ConnectError("injected: connection refused")


async def test_failed_heartbeats_are_retried_and_the_job_still_finishes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeService([_job("j1", lease_seconds=0.6)])
    fake.heartbeat = lambda n: (
        httpx.Response(503) if n <= 2 else refuse(n) if n == 3 else (httpx.Response(200, json={}))
    )

    async def process(context: JobContext) -> None:
        await asyncio.sleep(1.5)

    async with running(fake.worker(process)):
        await wait_until(lambda: fake.calls("/update"))

    assert len(fake.calls("/heartbeat")) >= 5
    assert fake.calls("/update") == [{"stage": "nlp", "status": "queued", "lease_token": "tok-j1"}]
    failures = [r.getMessage() for r in caplog.records if "heartbeat failed" in r.getMessage()]
    assert len(failures) == 3
    assert "ConnectError" in failures[2]


async def test_a_heartbeat_answered_404_counts_as_a_lost_lease() -> None:
    """After a service restart on an empty store, the job is unknown: stop working on it."""
    fake = FakeService([_job("j1", lease_seconds=0.3)])
    fake.heartbeat = lambda n: httpx.Response(404, json={"error": "Job not found"})
    cancelled = asyncio.Event()

    async def process(context: JobContext) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with running(fake.worker(process)):
        async with asyncio.timeout(5):
            await cancelled.wait()
        await asyncio.sleep(0.1)

    assert fake.calls("/update") == []


async def test_shutdown_is_bounded_when_the_hand_back_cannot_reach_the_service(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeService([_job("j1")])
    fake.update = lambda n: httpx.Response(503, json={"error": "down"})
    started = asyncio.Event()

    async def process(context: JobContext) -> None:
        started.set()
        await asyncio.sleep(60)

    worker = fake.worker(process, grace_seconds=0.2, handback_seconds=0.5)
    task = asyncio.create_task(worker.run())
    async with asyncio.timeout(5):
        await started.wait()
    began = time.monotonic()
    worker.stop()
    async with asyncio.timeout(5):
        await task
    await worker.client.aclose()

    assert time.monotonic() - began < 1.5
    assert len(fake.calls("/update")) > 1  # the hand-back was retried while there was time
    assert fake.calls("/update")[0]["status"] == "queued"  # a release, retried
    assert any("could not report its outcome" in r.getMessage() for r in caplog.records)


async def test_a_second_stop_hands_running_jobs_back_at_once() -> None:
    fake = FakeService([_job("j1")])
    started = asyncio.Event()

    async def process(context: JobContext) -> None:
        started.set()
        await asyncio.sleep(60)

    worker = fake.worker(process, grace_seconds=30)
    task = asyncio.create_task(worker.run())
    async with asyncio.timeout(5):
        await started.wait()
    worker.stop()
    await asyncio.sleep(0.2)
    assert not task.done()  # waiting for the job, within its grace period
    worker.stop()
    async with asyncio.timeout(2):
        await task
    await worker.client.aclose()
    [handed_back] = fake.calls("/update")
    assert (handed_back["stage"], handed_back["status"]) == ("scraper", "queued")
    assert "error_message" not in handed_back


async def test_idle_polls_back_off_and_reset_when_a_job_arrives() -> None:
    polls: list[float] = []
    job_at = 12  # the poll that finds a job

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/queue/poll":
            polls.append(time.monotonic())
            if len(polls) == job_at:
                return httpx.Response(200, json=[_job("j1")])
            return httpx.Response(200, json=[])
        return httpx.Response(200, json={})

    async def process(context: JobContext) -> None:
        pass

    worker = make_worker(
        "http://queue.test",
        "scraper",
        process,
        transport=httpx.MockTransport(handler),
        idle_poll_min=0.01,
        idle_poll_max=0.16,
    )
    async with running(worker):
        await wait_until(lambda: len(polls) >= job_at + 3)

    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert gaps[0] < 0.05
    assert all(gap < 0.16 + 0.05 for gap in gaps)
    assert max(gaps[: job_at - 1]) > 0.16 * 0.8 - 0.01  # it reached the cap
    assert gaps[job_at] < 0.05  # reset once a job came


async def test_progress_is_rate_limited_and_the_last_value_is_sent() -> None:
    beats: list[tuple[float, dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        beats.append((time.monotonic(), json.loads(request.content)))
        return httpx.Response(200, json={"lease_expires_at": "2030-01-01T00:00:00Z"})

    client = QueueClient("http://queue.test", worker_id="w", transport=httpx.MockTransport(handler))
    context = JobContext(_job("j1"), client, lease_seconds=600)
    for percent in range(1, 101):
        await context.progress(percent)
    assert [body.get("progress") for _, body in beats] == [1]
    await asyncio.sleep(1.1)
    await context.progress(100, "done")
    assert [body.get("progress") for _, body in beats] == [1, 100]
    assert beats[1][0] - beats[0][0] >= 1.0
    assert beats[1][1]["message"] == "done"
    await client.aclose()


async def test_client_calls_and_their_errors() -> None:
    seen: list[tuple[str, str, dict | None]] = []
    pages = {
        None: {"reviews": [{"review_id": "a"}, {"review_id": "b"}], "next_cursor": "c1"},
        "c1": {"reviews": [{"review_id": "c"}], "next_cursor": None},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, str(request.url.copy_with(scheme="http")), body))
        path = request.url.path
        if path == "/apps/com.x/reviews" and request.method == "GET":
            page = pages[request.url.params.get("cursor")]
            return httpx.Response(200, json={**page, "total": 3})
        if path.endswith("/heartbeat"):
            return httpx.Response(409, json={"error": "The lease_token is not current"})
        if path == "/queue/status/com.missing":
            return httpx.Response(404, json={"error": "Job not found"})
        if path == "/queue/overview":
            return httpx.Response(503, text="upstream down")
        return httpx.Response(200, json={"ok": True})

    client = QueueClient(
        "http://queue.test",
        worker_id="w",
        transport=httpx.MockTransport(handler),
        retry_for=0.3,
        retry_policy=FAST_RETRY,
    )
    job = _job("j1", app_id="com.x")
    reviews = [r async for r in client.iter_reviews("com.x", page_size=2)]
    assert [r["review_id"] for r in reviews] == ["a", "b", "c"]
    assert [url for _, url, _ in seen] == [
        "http://queue.test/apps/com.x/reviews?limit=2",
        "http://queue.test/apps/com.x/reviews?limit=2&cursor=c1",
    ]

    at = datetime(2026, 1, 2, 3, 4, 5)
    await client.post_reviews(job, [{"review_id": "a", "at": at}])
    assert seen[-1][2] == {
        "job_id": "j1",
        "lease_token": "tok-j1",
        "reviews": [{"review_id": "a", "at": "2026-01-02T03:04:05+00:00"}],
    }
    await client.put_analysis(job, [], {"review_count": 0})
    assert seen[-1][:2] == ("PUT", "http://queue.test/apps/com.x/analysis")
    assert seen[-1][2] == {
        "job_id": "j1",
        "lease_token": "tok-j1",
        "reviews": [],
        "summary": {"review_count": 0},
    }
    await client.finish({**job, "stage": "nlp"})
    assert seen[-1][2] == {"stage": "done", "status": "completed", "lease_token": "tok-j1"}
    await client.claim("nlp", limit=3)
    assert seen[-1][2] == {"stage": "nlp", "worker_id": "w", "limit": 3}

    with pytest.raises(LeaseLostError):
        await client.heartbeat(job, progress=150)
    assert seen[-1][2] == {"lease_token": "tok-j1", "progress": 100.0}
    with pytest.raises(ServiceError) as refused:
        await client.status("com.missing")
    assert refused.value.status_code == 404
    calls = len(seen)
    with pytest.raises(ServiceUnavailableError, match="503"):
        await client.overview()
    assert len(seen) - calls > 1  # retried within retry_for
    await client.aclose()


def test_worker_options_defaults_and_environment() -> None:
    got: dict = {}

    @click.command()
    @worker_options
    def command(**options) -> None:
        got.update(options)

    result = CliRunner().invoke(command, [], env={"REVIEW_QUEUE_API_URL": "http://queue:9"})
    assert result.exit_code == 0, result.output
    assert got["api_url"] == "http://queue:9"
    assert got["worker_id"] is None and got["api_key"] is None
    built = worker_from_options("scraper", lambda ctx: None, **got)
    assert built.client.worker_id.endswith(f"-{os.getpid()}")  # no key: <hostname>-<pid>
    keyed = worker_from_options("scraper", lambda ctx: None, **{**got, "api_key": "k"})
    assert keyed.client.worker_id is None  # with a key: the key's name, learned on start
    assert (got["concurrency"], got["lease_seconds"], got["grace_seconds"]) == (1, None, 30.0)
    assert got["log_level"] == "INFO"

    args = ["--concurrency", "4", "--lease-seconds", "120", "--worker-id", "w9"]
    result = CliRunner().invoke(command, [*args, "--log-level", "debug"])
    assert result.exit_code == 0, result.output
    assert (got["concurrency"], got["lease_seconds"], got["worker_id"]) == (4, 120, "w9")
    assert got["log_level"] == "DEBUG"
    assert CliRunner().invoke(command, ["--concurrency", "0"]).exit_code == 2


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--worker-id", "wörker-1"), ("--worker-id", "a\tb"), ("--worker-id", "w" * 201),
     ("--api-key", "clé"), ("--worker-id", ""), ("--worker-id", "scraper-1 "),
     ("--api-key", " key"), ("--worker-id", " ")],
)  # fmt: skip
def test_a_worker_id_or_key_that_cannot_be_a_header_stops_the_worker_at_start(flag, value):
    @click.command()
    @worker_options
    def command(**options) -> None:
        raise AssertionError("started")

    result = CliRunner().invoke(command, [flag, value])
    assert result.exit_code == 2
    assert f"Invalid value for '{flag}'" in result.output
    assert "printable ASCII" in result.output
    accepted = CliRunner().invoke(command, [flag, "scraper-1/host a.b~"])
    assert "started" in repr(accepted.exception)


def _job(
    job_id: str, *, app_id: str = "com.example", stage: str = "scraper", lease_seconds=600
) -> dict:
    claimed = datetime(2030, 1, 1, tzinfo=UTC)
    return {
        "job_id": job_id,
        "app_id": app_id,
        "stage": stage,
        "status": "processing",
        "attempt": 1,
        "updated_at": claimed.isoformat(),
        "lease_expires_at": (claimed + timedelta(seconds=lease_seconds)).isoformat(),
        "lease_token": f"tok-{job_id}",
    }


def test_sleepy_worker_help_runs() -> None:
    """The subprocess worker is importable the way the SIGTERM test starts it."""
    done = run_python(SLEEPY_WORKER, "--help", timeout=30)
    assert done.returncode == 0, done.stderr
    assert "--grace-seconds" in done.stdout
