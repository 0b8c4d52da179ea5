"""A due time fires once, however many sweeps (service replicas) race for it: through a store
that yields between driver calls, so that concurrent sweeps interleave as they would on a real
server (mongomock alone never yields inside a call). The last test swaps in a firing without
the compare-and-set and checks that the same race check catches it doubling.
"""

import asyncio
from collections import Counter
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest

from service.app import create_app
from service.schedules import ScheduleStore
from service.store import JobStore
from tests.conftest import backend_settings

SCHEDULES = 20
REPLICAS = 4  # sweeping stores sharing one database
SWEEPS = 3  # concurrent sweeps per replica
YEARLY = "0 0 1 1 *"  # never due by itself while a test runs: the tests make it due


@pytest.fixture
def racing_settings(backend):
    yield from backend_settings(
        backend,
        yield_store_calls=True,
        rate_limit=None,
        schedule_interval=3600,
        reap_interval=3600,
    )


@asynccontextmanager
async def replicas(settings):
    """An app (its API, its store) and REPLICAS schedule stores on its yielding database."""
    app = create_app(settings)
    async with app.lifespan():
        database = app.state.store._database
        stores = [ScheduleStore(database, JobStore(database)) for _ in range(REPLICAS)]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://queue") as client:
            yield app, client, stores


async def make_due(app, client) -> list[str]:
    """SCHEDULES schedules, each due a second ago."""
    ids = []
    for n in range(SCHEDULES):
        made = await client.post("/schedules", json={"app_id": f"com.app{n}", "cron": YEARLY})
        assert made.status_code == 201, made.text
        ids.append(made.json()["schedule_id"])
    await due_again(app)
    return ids


async def due_again(app) -> None:
    past = app.state.store.now() - timedelta(seconds=1)
    await app.state.schedules.schedules.update_many({}, {"$set": {"next_run_at": past}})


async def race(stores) -> Counter:
    """Every replica sweeps SWEEPS times at once; how often each schedule fired."""
    sweeps = [store.fire_due() for store in stores for _ in range(SWEEPS)]
    fired: Counter = Counter()
    for firings in await asyncio.gather(*sweeps):
        fired.update(f.schedule_id for f in firings)
    return fired


async def test_concurrent_sweeps_fire_each_due_time_exactly_once(racing_settings):
    async with replicas(racing_settings) as (app, client, stores):
        ids = await make_due(app, client)
        fired = await race(stores)
        assert set(fired) == set(ids) and set(fired.values()) == {1}
        overview = (await client.get("/queue/overview")).json()
        assert overview["active_total"] == SCHEDULES
        # The next due time fires once more each (skipped: the runs are still queued).
        await due_again(app)
        fired = await race(stores)
        assert set(fired.values()) == {1} and len(fired) == SCHEDULES
        listed = (await client.get("/schedules", params={"limit": 100})).json()["schedules"]
        assert {s["runs"] for s in listed} == {2}
        assert {s["last_result"] for s in listed} == {"queued_already"}


async def claim_without_compare_and_set(self, schedule, due_at, following):
    """What the compare-and-set prevents: the update filtered on the id alone."""
    return await self.schedules.find_one_and_update(
        {"_id": schedule["_id"]},
        {"$set": {"next_run_at": following, "last_due_at": due_at}, "$inc": {"runs": 1}},
        return_document=True,
    )


async def test_the_race_check_catches_a_firing_without_compare_and_set(
    monkeypatch, racing_settings
):
    monkeypatch.setattr(ScheduleStore, "claim_firing", claim_without_compare_and_set)
    async with replicas(racing_settings) as (app, client, stores):
        await make_due(app, client)
        fired = await race(stores)
    assert max(fired.values()) > 1, "a firing without compare-and-set went unnoticed"
