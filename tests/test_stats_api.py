"""GET /queue/stats (embedded store; real MongoDB when given)."""

from datetime import timedelta

from service.clock import utcnow
from tests.helpers import add, claim, update


async def test_stats_per_stage(client):
    store = client.app.state.store
    for app_id in ("com.a", "com.b", "com.c"):
        await add(client, app_id)
    await add(client, "com.later", delay_seconds=3600)
    [a] = await claim(client, "scraper")
    await update(client, a["job_id"], "nlp", "queued", lease_token=a["lease_token"])
    [b] = await claim(client, "scraper")
    failed = await update(
        client, b["job_id"], "scraper", "error", lease_token=b["lease_token"], error_message="x"
    )
    assert failed.json()["status"] == "queued"  # retried after a backoff: delayed meanwhile
    await claim(client, "scraper")

    response = await client.get("/queue/stats")
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["timestamp"].endswith("Z") and stats["today_since"].endswith("Z")
    scraper, nlp = stats["stages"]["scraper"], stats["stages"]["nlp"]
    assert scraper == {
        "queued": 0,
        "delayed": 2,
        "processing": 1,
        "finished_today": 1,
        "failed_today": 1,
        "finished_last_hour": 1,
        "failed_last_hour": 1,
        "oldest_claimable_seconds": None,
    }
    assert (nlp["queued"], nlp["delayed"], nlp["processing"]) == (1, 0, 0)
    assert (nlp["finished_today"], nlp["failed_today"]) == (0, 0)
    assert 0 <= nlp["oldest_claimable_seconds"] < 60

    # An hour and a minute later: the delayed job and the backed-off one are claimable, the
    # NLP job has waited that long, and nothing ended in the last hour.
    store._clock = lambda: utcnow() + timedelta(minutes=61)
    later = (await client.get("/queue/stats")).json()["stages"]
    assert (later["scraper"]["queued"], later["scraper"]["delayed"]) == (2, 0)
    assert later["scraper"]["finished_last_hour"] == later["scraper"]["failed_last_hour"] == 0
    assert 3600 < later["nlp"]["oldest_claimable_seconds"] < 3700
    assert 3600 < later["scraper"]["oldest_claimable_seconds"] < 3700  # the backed-off job


async def test_stats_of_an_empty_queue(client):
    stages = (await client.get("/queue/stats")).json()["stages"]
    assert set(stages) == {"scraper", "nlp"}
    assert all(s["queued"] == 0 and s["oldest_claimable_seconds"] is None for s in stages.values())
