"""Expired leases go back to the queue by themselves (the APScheduler reaper), and the old
holder's token stops working."""

import asyncio
import time

import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from tests.conftest import backend_settings
from tests.helpers import add, claim, history, update


@pytest.fixture
def fast_reaping(backend):
    yield from backend_settings(backend, reap_interval=1.0)


async def test_an_expired_lease_is_claimable_again_and_its_token_is_refused(fast_reaping):
    async with AsyncTestClient(app=create_app(fast_reaping)) as client:
        job_id = (await add(client, "com.spotify.music"))["job_id"]
        [first] = await claim(client, "scraper", worker_id="doomed", lease_seconds=1)
        started = time.monotonic()
        second = []
        while not second and time.monotonic() - started < 8:
            await asyncio.sleep(0.2)
            second = await claim(client, "scraper", worker_id="rescuer")
        assert second, "the job never came back to the queue"
        assert time.monotonic() - started < 5
        assert second[0]["job_id"] == job_id and second[0]["attempt"] == 2
        assert second[0]["retries"] == 1

        stale = await update(client, job_id, "nlp", "queued", lease_token=first["lease_token"])
        assert stale.status_code == 409
        beat = await client.post(
            f"/queue/{job_id}/heartbeat", json={"lease_token": first["lease_token"]}
        )
        assert beat.status_code == 409
        fresh = await update(client, job_id, "nlp", "queued", lease_token=second[0]["lease_token"])
        assert fresh.status_code == 200

        rows = await history(client, job_id)
        expired = [r for r in rows if r["event"] == "lease_expired"]
        assert len(expired) == 1
        assert expired[0]["worker_id"] == "doomed"
        assert (expired[0]["stage"], expired[0]["status"]) == ("scraper", "queued")


async def test_heartbeats_keep_a_short_lease_alive(fast_reaping):
    async with AsyncTestClient(app=create_app(fast_reaping)) as client:
        job_id = (await add(client, "com.duolingo"))["job_id"]
        [job] = await claim(client, "scraper", lease_seconds=2)
        for _ in range(8):
            await asyncio.sleep(0.4)
            beat = await client.post(
                f"/queue/{job_id}/heartbeat", json={"lease_token": job["lease_token"]}
            )
            assert beat.status_code == 200, beat.text
        status = (await client.get("/queue/status/com.duolingo")).json()
        assert status["status"] == "processing" and status["retries"] == 0
