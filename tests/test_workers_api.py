"""Workers: what they say with their claims, GET /workers, and how often their record is written
(embedded store; real MongoDB when given)."""

import json
import socket
from datetime import timedelta

import httpx
import pytest

from queue_client.client import QueueClient
from queue_client.options import installed_version, worker_from_options
from service.clock import utcnow
from service.workers import SEEN_EVERY
from tests.helpers import add, claim, update


def at(store, **delta) -> None:
    store._clock = lambda: utcnow() + timedelta(**delta)


def count_writes(registry, monkeypatch) -> list:
    writes = []
    real = registry.workers.update_one

    async def counting(*args, **kwargs):
        writes.append(args[0])
        return await real(*args, **kwargs)

    monkeypatch.setattr(registry.workers, "update_one", counting)
    return writes


async def workers(client) -> dict:
    response = await client.get("/workers")
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_claim_records_the_worker_and_get_workers_lists_it(client):
    for app_id in ("com.a", "com.b", "com.c"):
        await add(client, app_id)
    said = {"worker_version": "2.1.0", "capabilities": ["source:fixtures"], "host": "box-1"}
    held = await claim(client, "scraper", "scraper-1", limit=2, lease_seconds=60, **said)
    await claim(client, "nlp", "nlp-1")  # nothing to claim: seen all the same
    listed = await workers(client)
    assert (listed["live"], listed["gone"]) == (2, 0)
    by_id = {w["worker_id"]: w for w in listed["workers"]}
    scraper = by_id["scraper-1"]
    assert scraper["state"] == "live"
    assert scraper["stages"] == ["scraper"]
    assert (scraper["version"], scraper["capabilities"], scraper["host"]) == (
        "2.1.0",
        ["source:fixtures"],
        "box-1",
    )
    assert scraper["lease_seconds"] == 60
    assert sorted(scraper["jobs"]) == sorted(j["job_id"] for j in held)
    assert scraper["last_seen"].endswith("Z") and scraper["first_seen"].endswith("Z")
    assert (scraper["finished_today"], scraper["failed_today"]) == (0, 0)
    nlp = by_id["nlp-1"]
    assert nlp["jobs"] == [] and nlp["version"] is None and nlp["capabilities"] == []
    assert nlp["host"]  # the caller's address when the claim does not say


async def test_finished_and_failed_today_count_each_workers_runs(client):
    for app_id in ("com.a", "com.b", "com.c"):
        await add(client, app_id)
    [a, b, c] = await claim(client, "scraper", "w1", limit=3)
    await update(client, a["job_id"], "nlp", "queued", lease_token=a["lease_token"])
    await update(client, b["job_id"], "scraper", "error", lease_token=b["lease_token"])
    await update(
        client, c["job_id"], "scraper", "error", lease_token=c["lease_token"], retryable=False
    )
    [a] = await claim(client, "nlp", "w2")
    await update(client, a["job_id"], "done", "completed", lease_token=a["lease_token"])
    by_id = {w["worker_id"]: w for w in (await workers(client))["workers"]}
    assert (by_id["w1"]["finished_today"], by_id["w1"]["failed_today"]) == (1, 2)
    assert (by_id["w2"]["finished_today"], by_id["w2"]["failed_today"]) == (1, 0)
    assert by_id["w1"]["jobs"] == by_id["w2"]["jobs"] == []


async def test_a_worker_not_seen_for_three_lease_lengths_is_gone(client):
    store = client.app.state.store
    await claim(client, "scraper", "w1", lease_seconds=60)
    at(store, seconds=179)
    assert (await workers(client))["workers"][0]["state"] == "live"
    at(store, seconds=181)
    listed = await workers(client)
    assert listed["workers"][0]["state"] == "gone" and (listed["live"], listed["gone"]) == (0, 1)
    at(store, days=1, seconds=1)
    assert (await workers(client))["workers"] == []  # listed for a day


async def test_the_lease_length_of_the_service_applies_when_a_worker_never_said(client):
    store = client.app.state.store
    await claim(client, "scraper", "w1")  # the service's 600 s lease
    at(store, seconds=1799)
    assert (await workers(client))["workers"][0]["state"] == "live"
    at(store, seconds=1801)
    assert (await workers(client))["workers"][0]["state"] == "gone"


def stopped(store) -> None:
    """The store's clock stands still (a slow machine cannot make SEEN_EVERY pass)."""
    now = utcnow()
    store._clock = lambda: now


async def test_heartbeats_write_the_worker_at_most_every_few_seconds(client, monkeypatch):
    store, registry = client.app.state.store, client.app.state.workers
    stopped(store)
    await add(client, "com.a")
    [job] = await claim(client, "scraper", "w1")
    writes = count_writes(registry, monkeypatch)
    beat = {"lease_token": job["lease_token"]}
    for _ in range(10):
        response = await client.post(f"/queue/{job['job_id']}/heartbeat", json=beat)
        assert response.status_code == 200
    assert writes == []  # the claim has just written it
    at(store, seconds=SEEN_EVERY + 1)
    for _ in range(10):
        assert (await client.post(f"/queue/{job['job_id']}/heartbeat", json=beat)).is_success
    assert writes == [{"_id": "w1"}]


async def test_claims_write_the_worker_when_it_says_something_new(client, monkeypatch):
    store, registry = client.app.state.store, client.app.state.workers
    stopped(store)
    writes = count_writes(registry, monkeypatch)
    for _ in range(5):
        await claim(client, "scraper", "w1", worker_version="1")
    assert len(writes) == 1
    await claim(client, "scraper", "w1", worker_version="2")  # upgraded: written at once
    await claim(client, "nlp", "w1", worker_version="2")  # a new stage: written at once
    assert len(writes) == 3
    at(store, seconds=SEEN_EVERY + 1)
    await claim(client, "nlp", "w1", worker_version="2")
    assert len(writes) == 4
    [listed] = (await workers(client))["workers"]
    assert (listed["version"], listed["stages"]) == ("2", ["nlp", "scraper"])


async def test_a_claim_that_leaves_something_out_is_not_news(client, monkeypatch):
    registry = client.app.state.workers
    stopped(client.app.state.store)
    await claim(client, "scraper", "w1", worker_version="1", capabilities=["x"])
    writes = count_writes(registry, monkeypatch)
    job = await add(client, "com.a")
    through_update = await client.post(
        f"/queue/{job['job_id']}/update",
        json={"stage": "scraper", "status": "processing"},
        headers={"X-Worker-ID": "w1"},
    )
    assert through_update.status_code == 200, through_update.text
    await claim(client, "scraper", "w1", worker_version="1", capabilities=["x"])
    assert writes == []
    [listed] = (await workers(client))["workers"]
    assert (listed["version"], listed["capabilities"]) == ("1", ["x"])


async def test_a_claim_through_update_records_its_worker(client):
    job = await add(client, "com.a")
    response = await client.post(
        f"/queue/{job['job_id']}/update",
        json={"stage": "scraper", "status": "processing"},
        headers={"X-Worker-ID": "seed-1"},
    )
    assert response.status_code == 200, response.text
    [listed] = (await workers(client))["workers"]
    assert listed["worker_id"] == "seed-1" and listed["jobs"] == [job["job_id"]]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"worker_version": ""}, "worker_version"),
        ({"worker_version": "v" * 101}, "worker_version"),
        ({"capabilities": "fixtures"}, "capabilities"),
        ({"capabilities": ["x"] * 51}, "capabilities"),
        ({"capabilities": [""]}, "capabilities[0]"),
        ({"host": "h" * 256}, "host"),
    ],
)
async def test_what_a_claim_says_about_its_worker_is_bounded(client, extra, field):
    response = await client.post(
        "/queue/poll", json={"stage": "scraper", "worker_id": "w1", **extra}
    )
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["details"]] == [field]
    assert (await workers(client))["workers"] == []


# The worker side: the client sends it, the worker packages fill it in


async def test_the_client_sends_version_capabilities_and_host_with_each_claim():
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json=[])

    client = QueueClient(
        "http://queue.test",
        worker_id="w",
        worker_version="1.2.0",
        capabilities=["javascript", "images"],
        host="node-1",
        transport=httpx.MockTransport(handler),
    )
    async with client:
        await client.claim("scraper")
    assert sent == [
        {
            "stage": "scraper",
            "limit": 1,
            "worker_id": "w",
            "worker_version": "1.2.0",
            "capabilities": ["javascript", "images"],
            "host": "node-1",
        }
    ]


def test_workers_built_from_options_say_the_installed_version_and_this_host():
    worker = worker_from_options(
        "nlp", lambda ctx: None, api_url="http://q", capabilities=["lang:en"]
    )
    assert worker.client.worker_version == installed_version() is not None
    assert worker.client.capabilities == ["lang:en"]
    assert worker.client.host == socket.gethostname()


def test_each_worker_package_says_what_it_can_do():
    from scraper_worker.cli import capabilities

    assert capabilities("auto") == ["source:app-store", "source:google-play"]
    assert capabilities("fixtures") == ["source:fixtures"]
    from nlp_worker.cli import capabilities as languages
    from nlp_worker.languages import SUPPORTED

    assert languages() == [f"lang:{code}" for code in SUPPORTED] and "lang:en" in languages()
