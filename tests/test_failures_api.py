"""Retries with backoff, dead letters and operator actions, through the HTTP API."""

import asyncio
from datetime import datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from tests.conftest import backend_settings
from tests.helpers import JSON, add, claim, history, update


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def quick_retries(backend):
    yield from backend_settings(backend, retry_base_seconds=0.5, retry_max_seconds=0.5)


@pytest.fixture
async def client(quick_retries):
    async with AsyncTestClient(app=create_app(quick_retries)) as test_client:
        yield test_client


async def fail(client, job, retryable=True, message="boom"):
    response = await update(
        client,
        job["job_id"],
        job["stage"],
        "error",
        lease_token=job["lease_token"],
        error_message=message,
        retryable=retryable,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_retryable_failure_goes_back_to_the_queue_after_a_backoff(client):
    await add(client, "app.flaky")
    [job] = await claim(client, "scraper")
    after = await fail(client, job, message="timeout talking to the store")
    assert (after["stage"], after["status"]) == ("scraper", "queued")
    assert after["error_message"] == "timeout talking to the store"
    assert after["retries"] == 1
    delay = parse(after["available_at"]) - parse(after["updated_at"])
    assert timedelta(seconds=0.45) <= delay <= timedelta(seconds=0.55)
    assert await claim(client, "scraper") == [], "claimable before its backoff ended"
    overview = (await client.get("/queue/overview")).json()
    assert overview["counts"]["scraper"] == {"delayed": 1}
    assert overview["active_total"] == 1, "a job backing off is still active"
    await asyncio.sleep(0.6)
    [again] = await claim(client, "scraper")
    assert again["job_id"] == job["job_id"] and again["attempt"] == 2
    status = (await client.get("/queue/status/app.flaky")).json()
    assert status["status"] == "processing" and status["retries"] == 1


async def test_a_release_does_not_lengthen_the_next_backoff(backend):
    for settings in backend_settings(backend, retry_base_seconds=0.5, retry_max_seconds=60):
        async with AsyncTestClient(app=create_app(settings)) as client:
            await add(client, "app.redeploy")
            for _ in range(3):
                [job] = await claim(client, "scraper")
                token = job["lease_token"]
                await update(client, job["job_id"], "scraper", "queued", lease_token=token)
            [job] = await claim(client, "scraper")
            after = await fail(client, job)
            delay = parse(after["available_at"]) - parse(after["updated_at"])
            assert delay <= timedelta(seconds=0.55), "the first counted failure waits the base"


async def test_a_stage_runs_at_most_one_plus_max_retries_times(client):
    job_id = (await add(client, "app.doomed", max_retries=1))["job_id"]
    [first] = await claim(client, "scraper")
    assert (await fail(client, first))["status"] == "queued"
    await asyncio.sleep(0.6)
    [second] = await claim(client, "scraper")
    dead = await fail(client, second, message="still broken")
    assert (dead["stage"], dead["status"], dead["error_message"]) == (
        "scraper",
        "error",
        "still broken",
    )
    events = [r["event"] for r in await history(client, job_id)]
    assert events == ["created", "claimed", "retry_scheduled", "claimed", "failed"]


async def test_a_non_retryable_failure_is_a_dead_letter_at_once(client):
    await add(client, "app.missing")
    [job] = await claim(client, "scraper")
    dead = await fail(client, job, retryable=False, message="app not found")
    assert dead["status"] == "error" and dead["retries"] == 0
    page = (await client.get("/queue/dead-letter")).json()
    assert page["total"] == 1 and page["jobs"][0]["error_message"] == "app not found"
    assert page["jobs"][0]["attempt"] == 1


async def test_repeating_a_failure_report_answers_200_and_writes_one_row(client):
    job_id = (await add(client, "app.a"))["job_id"]
    [job] = await claim(client, "scraper")
    await fail(client, job)
    again = await fail(client, job)
    assert again["status"] == "queued"
    assert [r["event"] for r in await history(client, job_id)].count("retry_scheduled") == 1


async def test_a_released_job_is_queued_at_once_without_using_a_run(client):
    job_id = (await add(client, "app.redeploy", max_retries=0))["job_id"]
    for _ in range(3):
        [job] = await claim(client, "scraper")
        released = await update(client, job_id, "scraper", "queued", lease_token=job["lease_token"])
        assert released.status_code == 200, released.text
        assert (released.json()["status"], released.json()["retries"]) == ("queued", 0)
    [job] = await claim(client, "scraper")
    assert job["attempt"] == 1, "released runs are not counted"
    dead = await fail(client, job)
    assert dead["status"] == "error", "max_retries 0: the one counted run failed"
    events = [r["event"] for r in await history(client, job_id)]
    assert events.count("released") == 3 and events[-1] == "failed"


async def test_dead_letters_page_newest_first_and_filter_by_stage(client):
    for n in range(5):
        await add(client, f"app.{n}")
    for job in await claim(client, "scraper", limit=5):
        await fail(client, job, retryable=False)
    await add(client, "app.nlp")
    [job] = await claim(client, "scraper")
    await update(client, job["job_id"], "nlp", "queued", lease_token=job["lease_token"])
    [job] = await claim(client, "nlp")
    await fail(client, job, retryable=False)

    seen, cursor = [], None
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/queue/dead-letter?{query}")).json()
        assert page["total"] == 6
        seen += page["jobs"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 6 and len({j["job_id"] for j in seen}) == 6
    finished = [j["finished_at"] for j in seen]
    assert finished == sorted(finished, reverse=True)
    nlp_only = (await client.get("/queue/dead-letter?stage=nlp")).json()
    assert nlp_only["total"] == 1 and nlp_only["jobs"][0]["app_id"] == "app.nlp"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=garbage", "cursor"),
        ("cursor=", "cursor"),
        ("stage=done", "stage"),
        ("limit=0", "limit"),
    ],
)
async def test_bad_dead_letter_queries_get_422(client, query, field):
    response = await client.get(f"/queue/dead-letter?{query}")
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == field


async def test_requeue_sends_a_dead_letter_round_again_with_runs_reset(client):
    job_id = (await add(client, "app.a", max_retries=0))["job_id"]
    [job] = await claim(client, "scraper")
    assert (await fail(client, job))["status"] == "error"
    response = await client.post(f"/queue/{job_id}/requeue", headers=JSON)
    assert response.status_code == 200
    requeued = response.json()
    assert (requeued["stage"], requeued["status"], requeued["attempt"]) == ("scraper", "queued", 0)
    assert (await client.get("/queue/dead-letter")).json()["total"] == 0
    [again] = await claim(client, "scraper")
    assert again["job_id"] == job_id
    rows = await history(client, job_id)
    assert rows[-2]["event"] == "requeued" and rows[-2]["worker_id"] == "operator"
    assert (await client.post(f"/queue/{job_id}/requeue", headers=JSON)).status_code == 409
    assert (await client.post("/queue/nope/requeue", headers=JSON)).status_code == 404


async def test_requeue_is_refused_while_the_app_has_a_newer_active_run(client):
    job_id = (await add(client, "app.a"))["job_id"]
    [job] = await claim(client, "scraper")
    await fail(client, job, retryable=False)
    newer = await add(client, "app.a")
    assert newer["status"] == "queued" and newer["job_id"] != job_id
    response = await client.post(f"/queue/{job_id}/requeue", headers=JSON)
    assert response.status_code == 409
    assert "already has" in response.json()["error"]


async def test_bulk_requeue_by_stage_and_by_ids(client):
    ids = []
    for n in range(3):
        ids.append((await add(client, f"app.{n}"))["job_id"])
    for job in await claim(client, "scraper", limit=3):
        await fail(client, job, retryable=False)
    one = await client.post("/queue/dead-letter/requeue", json={"job_ids": [ids[0], "nope"]})
    assert one.status_code == 200
    assert one.json()["requeued"] == 1 and one.json()["job_ids"] == [ids[0]]
    assert one.json()["skipped"][0]["job_id"] == "nope"
    rest = await client.post("/queue/dead-letter/requeue", json={"stage": "scraper"})
    assert rest.json()["requeued"] == 2
    assert (await client.get("/queue/dead-letter")).json()["total"] == 0
    bad = await client.post("/queue/dead-letter/requeue", json={"stage": "done"})
    assert bad.status_code == 422


async def test_cancel_stops_a_worker_and_add_queues_a_new_run(client):
    job_id = (await add(client, "app.a"))["job_id"]
    [job] = await claim(client, "scraper")
    response = await client.post(f"/queue/{job_id}/cancel", headers=JSON)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    beat = await client.post(f"/queue/{job_id}/heartbeat", json={"lease_token": job["lease_token"]})
    assert beat.status_code == 409
    finish = await update(client, job_id, "nlp", "queued", lease_token=job["lease_token"])
    assert finish.status_code == 409
    assert (await client.get(f"/queue/jobs/{job_id}")).json()["status"] == "cancelled"
    assert (await client.post(f"/queue/{job_id}/cancel", headers=JSON)).status_code == 200
    rows = await history(client, job_id)
    assert [r["event"] for r in rows].count("cancelled") == 1
    assert rows[-1]["worker_id"] == "operator"
    fresh = await client.post("/queue/add", json={"app_id": "app.a"})
    assert fresh.status_code == 201


async def test_a_completed_job_cannot_be_cancelled(client):
    job_id = (await add(client, "app.a"))["job_id"]
    for stage, nxt in (("scraper", ("nlp", "queued")), ("nlp", ("done", "completed"))):
        [job] = await claim(client, stage)
        await update(client, job_id, *nxt, lease_token=job["lease_token"])
    response = await client.post(f"/queue/{job_id}/cancel", headers=JSON)
    assert response.status_code == 409
    assert response.json()["details"]["current"] == {"stage": "done", "status": "completed"}


async def test_operator_routes_are_in_the_openapi_schema(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in (
        "/queue/dead-letter",
        "/queue/dead-letter/requeue",
        "/queue/{job_id}/requeue",
        "/queue/{job_id}/cancel",
    ):
        assert path in paths
