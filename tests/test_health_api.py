"""GET /health: ok, degraded with its issues (each with figure and threshold), 503 only when the
store does not answer (embedded store; real MongoDB when given)."""

from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from pymongo.errors import ServerSelectionTimeoutError

import service.health
from service.app import create_app
from service.clock import utcnow
from tests.conftest import backend_settings
from tests.helpers import add, claim, update


@pytest.fixture(autouse=True)
def always_fresh(monkeypatch):
    """These tests change the queue between calls: each call asks the store (the answer a
    process keeps for FRESH_SECONDS is tested at the end)."""
    monkeypatch.setattr(service.health, "FRESH_SECONDS", 0.0)


@pytest.fixture
def make_client(backend):
    @asynccontextmanager
    async def make(**overrides):
        settings = backend_settings(backend, **overrides)
        try:
            async with AsyncTestClient(app=create_app(next(settings))) as client:
                yield client
        finally:
            settings.close()

    return make


async def health(client) -> tuple[int, dict]:
    response = await client.get("/health")
    return response.status_code, response.json()


def issues_of(body: dict) -> dict[tuple[str, str], dict]:
    return {(i["issue"], i.get("stage")): i for i in body["issues"]}


async def test_an_idle_queue_is_ok(client):
    code, body = await health(client)
    assert code == 200
    assert body["status"] == "ok" and body["issues"] == []
    assert body["store"] in ("embedded", "mongodb")


async def test_claimable_jobs_without_a_live_worker_of_their_stage(client):
    await add(client, "com.a")
    await add(client, "com.b")
    code, body = await health(client)
    assert code == 200 and body["status"] == "degraded"
    [issue] = body["issues"]
    assert issue["issue"] == "no_live_worker" and issue["stage"] == "scraper"
    assert (issue["figure"], issue["threshold"]) == (2, 0)
    await claim(client, "nlp", "nlp-1")  # a live worker, of the other stage
    assert issues_of((await health(client))[1]).keys() == {("no_live_worker", "scraper")}
    await claim(client, "scraper", "scraper-1")  # takes one; one is left, but it has a worker
    assert (await health(client))[1] == {"status": "ok", "store": body["store"], "issues": []}


async def test_a_worker_gone_for_three_leases_no_longer_counts(client):
    store = client.app.state.store
    await claim(client, "scraper", "w1", lease_seconds=60)
    await add(client, "com.a")
    assert (await health(client))[1]["status"] == "ok"
    store._clock = lambda: utcnow() + timedelta(seconds=200)
    assert issues_of((await health(client))[1]).keys() >= {("no_live_worker", "scraper")}


async def test_the_oldest_claimable_job_waiting_too_long(make_client):
    async with make_client(health_max_wait_seconds=300) as client:
        store = client.app.state.store
        await add(client, "com.a")
        store._clock = lambda: utcnow() + timedelta(seconds=200)
        await claim(client, "nlp", "nlp-1")  # a live worker, of the wrong stage
        assert ("oldest_claimable", "scraper") not in issues_of((await health(client))[1])
        store._clock = lambda: utcnow() + timedelta(seconds=400)
        issue = issues_of((await health(client))[1])[("oldest_claimable", "scraper")]
        assert 399 < issue["figure"] < 420 and issue["threshold"] == 300
        assert "waited" in issue["message"]


async def test_a_backlog_over_its_threshold(make_client):
    async with make_client(health_max_backlog=2) as client:
        await claim(client, "scraper", "w1")
        for n in range(3):
            await add(client, f"com.app{n}")
        issue = issues_of((await health(client))[1])[("backlog", "scraper")]
        assert (issue["figure"], issue["threshold"]) == (3, 2)


async def test_a_failure_share_over_its_threshold_once_enough_runs_ended(make_client):
    async with make_client(health_min_runs=3, health_max_failure_share=0.5) as client:
        for n in range(3):
            await add(client, f"com.app{n}")
        jobs = await claim(client, "scraper", "w1", limit=3)
        for job in jobs[:2]:
            failed = await update(
                client, job["job_id"], "scraper", "error", lease_token=job["lease_token"]
            )
            assert failed.is_success
        assert ("failure_share", "scraper") not in issues_of((await health(client))[1])
        last = jobs[2]
        await update(client, last["job_id"], "nlp", "queued", lease_token=last["lease_token"])
        issue = issues_of((await health(client))[1])[("failure_share", "scraper")]
        assert (issue["figure"], issue["threshold"]) == (0.6667, 0.5)
        assert issue["message"].startswith("2 of the 3 scraper runs")


async def test_503_only_when_the_store_does_not_answer(client, monkeypatch):
    store = client.app.state.store

    def down(*args, **kwargs):
        raise ServerSelectionTimeoutError("No servers found yet, Timeout: 5.0s")

    monkeypatch.setattr(store.jobs, "aggregate", down)
    code, body = await health(client)
    assert code == 503
    assert body["error"] == "The store does not answer" and body["retry"] is True
    assert body["details"]["status"] == "unavailable"
    assert body["details"]["reason"].startswith("No servers found yet")


async def test_a_process_asks_the_store_at_most_once_per_fresh_seconds(client, monkeypatch):
    answers = client.app.state.health
    answers.seconds = 60.0
    assert (await health(client))[1]["status"] == "ok"
    await add(client, "com.a")  # now degraded, but the answer is kept
    assert (await health(client))[1]["status"] == "ok"
    answers.seconds = 0.0
    assert (await health(client))[1]["status"] == "degraded"
