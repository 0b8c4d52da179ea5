"""JobStore directly: indexes, history order, the reaper with a controlled clock."""

from datetime import UTC, datetime, timedelta

import pytest

from service.clock import as_utc
from service.domain import NLP_QUEUED, SCRAPER_ERROR, LeaseLost, RetryPolicy, Stage
from service.store import JobStore
from tests.helpers import Clock


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def store(connection, clock):
    job_store = JobStore(connection.database, client=connection.client, clock=clock)
    await job_store.ensure_indexes()
    return job_store


async def test_indexes_are_created_idempotently(store):
    await store.ensure_indexes()
    names = set((await store.jobs.index_information()).keys())
    assert {"claim_order_v2", "app_current", "one_active_job_per_app", "lease_expiry"} <= names
    assert "history_by_job" in await store.history.index_information()


async def test_history_keeps_the_order_of_changes_that_share_a_timestamp(store):
    _, job = await store.add("com.spotify.music", priority=5, params={}, force=False)
    claimed = await store.claim_next(Stage.SCRAPER, "w", 60)
    await store.transition(job["_id"], NLP_QUEUED, token=claimed["lease_token"])
    await store.claim_next(Stage.NLP, "w", 60)
    rows = await store.history_of(job["_id"])
    assert len({r["timestamp"] for r in rows}) == 1
    assert [(r["stage"], r["status"]) for r in rows] == [
        ("scraper", "queued"),
        ("scraper", "processing"),
        ("nlp", "queued"),
        ("nlp", "processing"),
    ]
    assert [r["version"] for r in rows] == [1, 2, 3, 4]


async def test_the_reaper_returns_only_expired_leases(store, clock):
    for app in ("a.one", "a.two"):
        await store.add(app, priority=5, params={}, force=False)
    short = await store.claim_next(Stage.SCRAPER, "w1", 10)
    long = await store.claim_next(Stage.SCRAPER, "w2", 100)
    clock.now += timedelta(seconds=11)
    reaped = await store.reap_expired()
    assert [j["_id"] for j in reaped] == [short["_id"]]
    assert reaped[0]["status"] == "queued" and reaped[0]["retries"] == 1
    assert (await store.get(long["_id"]))["status"] == "processing"
    assert await store.reap_expired() == []
    again = await store.claim_next(Stage.SCRAPER, "w3", 10)
    assert again["_id"] == short["_id"] and again["attempt"] == 2
    with pytest.raises(LeaseLost):
        await store.transition(short["_id"], NLP_QUEUED, token=short["lease_token"])


async def test_the_claim_query_is_served_by_its_index(store, backend):
    if backend == "embedded":
        pytest.skip("the embedded store has no query planner")
    await store.add("com.spotify.music", priority=5, params={}, force=False)
    plan = (
        await store.jobs.find(
            {"stage": "scraper", "status": "queued", "available_at": {"$lte": datetime.now(UTC)}}
        )
        .sort([("priority", -1), ("requested_at", 1)])
        .explain()
    )
    assert "claim_order_v2" in str(plan["queryPlanner"]["winningPlan"])


async def test_backoff_doubles_per_attempt_up_to_the_cap(connection, clock):
    policy = RetryPolicy(max_retries=5, base_seconds=2, max_seconds=5)
    store = JobStore(connection.database, clock=clock, retry=policy, jitter=lambda: 0.0)
    await store.ensure_indexes()
    _, job = await store.add("a.flaky", priority=5, params={}, force=False)
    delays = []
    for _ in range(4):
        claimed = await store.claim_next(Stage.SCRAPER, "w", 60)
        failed = await store.transition(job["_id"], SCRAPER_ERROR, token=claimed["lease_token"])
        delays.append((as_utc(failed["available_at"]) - clock.now).total_seconds())
        clock.now = as_utc(failed["available_at"])
    assert delays == [2, 4, 5, 5]


async def test_an_expired_lease_on_the_last_run_is_a_dead_letter(connection, clock):
    store = JobStore(connection.database, clock=clock, retry=RetryPolicy(max_retries=1))
    await store.ensure_indexes()
    _, job = await store.add("a.slow", priority=5, params={}, force=False)
    for run in (1, 2):
        claimed = await store.claim_next(Stage.SCRAPER, f"w{run}", 10)
        assert claimed["attempt"] == run
        clock.now += timedelta(seconds=11)
        [reaped] = await store.reap_expired()
    assert (reaped["status"], reaped["error_message"]) == ("error", "lease expired")
    assert reaped["active"] is False
    rows = await store.history_of(job["_id"])
    assert [r["event"] for r in rows][-1] == "lease_expired"
    assert [(r["stage"], r["status"]) for r in rows][-1] == ("scraper", "error")


async def test_listeners_hear_each_change_once_after_it_is_written(store, clock):
    heard, progress = [], []
    store.on_change.append(lambda job, row: heard.append((job["version"], row["event"])))
    store.on_change.append(lambda job, row: 1 / 0)  # a failing listener changes nothing
    store.on_progress.append(lambda job: progress.append(job["progress"]))
    _, job = await store.add("com.listen", priority=5, params={}, force=False)
    claimed = await store.claim_next(Stage.SCRAPER, "w", 60)
    await store.heartbeat(job["_id"], claimed["lease_token"], progress=40, message=None)
    await store.transition(job["_id"], NLP_QUEUED, token=claimed["lease_token"])
    assert await store.claim_next(Stage.SCRAPER, "w", 60) is None  # nothing changed: silent
    assert heard == [(1, "created"), (2, "claimed"), (3, "stage_finished")]
    assert progress == [40]
    assert [r["version"] for r in await store.history_of(job["_id"])] == [1, 2, 3]
