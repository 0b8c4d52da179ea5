"""Claim and add races, in one event loop, through a store that yields between driver calls.

mongomock never yields inside a call, so without the wrapper a read-then-write looks atomic
and these tests would pass whatever the code did. The last two tests swap in non-atomic code
and check that the same race checks catch it. Requests go through httpx's ASGI transport in
this loop: Litestar's AsyncTestClient handles one request at a time.
"""

import asyncio
from collections import Counter
from contextlib import asynccontextmanager

import httpx
import pytest

from service import indexes
from service.app import create_app
from service.store import CLAIM_ORDER, JobStore, new_token
from tests.conftest import backend_settings

JOBS = 200
CLAIMERS = 32
ADDS = 50


@pytest.fixture
def racing_settings(backend):
    # No rate limit: its lock spaces the requests out, which would narrow the race window.
    yield from backend_settings(backend, yield_store_calls=True, rate_limit=None)


@asynccontextmanager
async def concurrent_client(settings):
    app = create_app(settings)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://queue") as client:
            yield client


async def concurrent_adds(client, app_id: str) -> list:
    return await asyncio.gather(
        *(client.post("/queue/add", json={"app_id": app_id}) for _ in range(ADDS))
    )


async def claim_everything(client, jobs: int = JOBS) -> Counter:
    for n in range(jobs):
        assert (await client.post("/queue/add", json={"app_id": f"app.{n}"})).status_code == 201
    claimed: Counter = Counter()

    async def claimer(name: str) -> None:
        while True:
            response = await client.post(
                "/queue/poll", json={"stage": "scraper", "worker_id": name}
            )
            assert response.status_code == 200, response.text
            if not response.json():
                return
            claimed.update(job["job_id"] for job in response.json())

    await asyncio.gather(*(claimer(f"claimer-{n}") for n in range(CLAIMERS)))
    return claimed


async def test_concurrent_adds_of_one_app_create_exactly_one_job(racing_settings):
    async with concurrent_client(racing_settings) as client:
        responses = await concurrent_adds(client, "com.spotify.music")
        overview = (await client.get("/queue/overview")).json()
    assert all(r.status_code in (200, 201) for r in responses)
    assert [r.status_code for r in responses].count(201) == 1
    assert len({r.json()["job_id"] for r in responses}) == 1
    assert overview["active_total"] == 1


async def test_concurrent_claimers_claim_every_job_exactly_once(racing_settings):
    async with concurrent_client(racing_settings) as client:
        claimed = await claim_everything(client)
    assert len(claimed) == JOBS
    assert set(claimed.values()) == {1}


async def naive_claim_next(self, stage, worker_id, lease_seconds):
    """Read, then write: the bug the race tests must be able to catch."""
    found = await self.jobs.find(
        {"stage": stage, "status": "queued"}, sort=CLAIM_ORDER, limit=1
    ).to_list(None)
    if not found:
        return None
    job = found[0]
    fields = {
        "status": "processing",
        "worker_id": worker_id,
        "lease_token": new_token(lease_seconds),
    }
    await self.jobs.update_one({"_id": job["_id"]}, {"$set": fields})
    return {**job, **fields}


async def test_the_claim_race_check_catches_a_read_then_write_claim(monkeypatch, racing_settings):
    monkeypatch.setattr(JobStore, "claim_next", naive_claim_next)
    async with concurrent_client(racing_settings) as client:
        claimed = await claim_everything(client, jobs=20)
    assert max(claimed.values()) > 1, "a non-atomic claim went unnoticed"


async def test_the_add_race_check_catches_a_missing_unique_index(monkeypatch, racing_settings):
    without_guard = [
        i for i in indexes.JOB_INDEXES if i.document["name"] != "one_active_job_per_app"
    ]
    monkeypatch.setattr(indexes, "JOB_INDEXES", without_guard)
    async with concurrent_client(racing_settings) as client:
        responses = await concurrent_adds(client, "com.spotify.music")
    assert [r.status_code for r in responses].count(201) > 1, "duplicate adds went unnoticed"
