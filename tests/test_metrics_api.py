"""GET /metrics parses with prometheus_client's text parser and says what the queue did
(embedded store; real MongoDB when given)."""

from dataclasses import replace
from datetime import timedelta

from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.clock import utcnow
from tests.helpers import add, claim, update


async def scrape(client, **kwargs) -> dict:
    response = await client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def samples(family, name: str | None = None) -> dict[tuple, float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for s in family.samples
        if name is None or s.name == name
    }


async def test_metrics_parse_and_count_what_the_queue_did(client):
    for app_id in ("com.a", "com.b"):
        await add(client, app_id)
    await add(client, "com.later", delay_seconds=600)
    [a] = await claim(client, "scraper")
    await update(client, a["job_id"], "nlp", "queued", lease_token=a["lease_token"])
    [b] = await claim(client, "scraper")
    await update(client, b["job_id"], "scraper", "error", lease_token=b["lease_token"])
    [a] = await claim(client, "nlp")
    families = await scrape(client)

    jobs = samples(families["review_queue_jobs"])
    assert families["review_queue_jobs"].type == "gauge"
    assert jobs[(("stage", "scraper"), ("status", "delayed"))] == 2  # later, and b backing off
    assert jobs[(("stage", "scraper"), ("status", "queued"))] == 0
    assert jobs[(("stage", "nlp"), ("status", "processing"))] == 1
    oldest = samples(families["review_queue_oldest_claimable_seconds"])
    assert oldest == {(("stage", "scraper"),): 0.0, (("stage", "nlp"),): 0.0}

    changes = families["review_queue_state_changes"]
    assert changes.type == "counter"
    counted = samples(changes, "review_queue_state_changes_total")
    assert counted[(("event", "created"), ("stage", "scraper"), ("status", "queued"))] == 3
    assert counted[(("event", "claimed"), ("stage", "scraper"), ("status", "processing"))] == 2
    assert counted[(("event", "stage_finished"), ("stage", "nlp"), ("status", "queued"))] == 1
    assert counted[(("event", "retry_scheduled"), ("stage", "scraper"), ("status", "queued"))] == 1

    wait = families["review_queue_wait_seconds"]
    assert wait.type == "histogram"
    waits = samples(wait, "review_queue_wait_seconds_count")
    assert waits == {(("stage", "scraper"),): 2, (("stage", "nlp"),): 1}
    runs = samples(
        families["review_queue_processing_seconds"], "review_queue_processing_seconds_count"
    )
    assert runs == {
        (("outcome", "finished"), ("stage", "scraper")): 1,
        (("outcome", "failed"), ("stage", "scraper")): 1,
    }

    # The plugin's HTTP metrics, by route template
    http = samples(families["review_queue_http_requests"], "review_queue_http_requests_total")
    paths = {dict(labels)["path"] for labels in http}
    assert {"/queue/add", "/queue/poll", "/queue/{job_id}/update"} <= paths


async def test_the_oldest_claimable_gauge_is_read_at_scrape_time(client):
    store = client.app.state.store
    await add(client, "com.a")
    store._clock = lambda: utcnow() + timedelta(seconds=120)
    oldest = samples((await scrape(client))["review_queue_oldest_claimable_seconds"])
    assert 119 < oldest[(("stage", "scraper"),)] < 130


async def test_a_scraper_reads_metrics_with_a_reader_key(settings):
    admin = "metrics-admin-" + "k" * 32
    app = create_app(replace(settings, auth="required", admin_key=admin))
    async with AsyncTestClient(app=app) as http:
        assert (await http.get("/metrics")).status_code == 401
        created = await http.post(
            "/auth/keys",
            json={"name": "prometheus", "role": "reader"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        key = created.json()["key"]
        families = await scrape(http, headers={"Authorization": f"Bearer {key}"})
        assert "review_queue_jobs" in families
