"""Delayed runs, named priorities and batch adds (embedded store; real MongoDB when given)."""

from datetime import UTC, datetime, timedelta

import pytest

from service.clock import utcnow
from tests.helpers import add, claim


def later(store, **delta) -> None:
    """Move the store's clock on by `delta` from now."""
    store._clock = lambda: utcnow() + timedelta(**delta)


# Delayed runs


async def test_a_delayed_job_is_queued_counted_as_delayed_and_claimable_only_when_due(client):
    store = client.app.state.store
    response = await client.post("/queue/add", json={"app_id": "com.later", "delay_seconds": 3600})
    assert response.status_code == 201, response.text
    created = response.json()
    due = datetime.fromisoformat(created["available_at"].replace("Z", "+00:00"))
    assert abs((due - utcnow()).total_seconds() - 3600) < 5
    job = (await client.get(f"/queue/jobs/{created['job_id']}")).json()
    assert (job["status"], job["available_at"]) == ("queued", created["available_at"])
    overview = (await client.get("/queue/overview")).json()
    assert overview["counts"] == {"scraper": {"delayed": 1}}
    assert await claim(client, "scraper") == []
    later(store, minutes=61)
    [claimed] = await claim(client, "scraper")
    assert claimed["job_id"] == created["job_id"]


async def test_run_at_with_its_zone_sets_the_first_claimable_time(client):
    run_at = (datetime.now(UTC) + timedelta(days=2)).astimezone().isoformat()
    created = await add(client, "com.at", run_at=run_at)
    wanted = datetime.fromisoformat(run_at).astimezone(UTC)
    got = datetime.fromisoformat(created["available_at"].replace("Z", "+00:00"))
    assert abs((got - wanted).total_seconds()) < 0.001
    # A delayed job is the app's active run: another add answers queued_already.
    again = await client.post("/queue/add", json={"app_id": "com.at"})
    assert again.json()["status"] == "queued_already"


async def test_run_at_in_the_past_means_now(client):
    created = await add(client, "com.past", run_at="2020-01-01T00:00:00+02:00")
    assert "available_at" not in created
    assert [j["job_id"] for j in await claim(client, "scraper")] == [created["job_id"]]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"run_at": "2030-01-01T00:00:00"}, "run_at"),  # no zone
        ({"run_at": "tomorrow"}, "run_at"),
        ({"run_at": "0001-01-01T00:00:00+01:00"}, "run_at"),  # leaves the calendar in UTC
        ({"delay_seconds": -1}, "delay_seconds"),
        ({"delay_seconds": 366 * 86400}, "delay_seconds"),
        ({"delay_seconds": "60"}, "delay_seconds"),
        ({"delay_seconds": 60, "run_at": "2030-01-01T00:00:00Z"}, "run_at"),
    ],
)
async def test_bad_delays_get_422_naming_the_field(client, extra, field):
    response = await client.post("/queue/add", json={"app_id": "com.bad", **extra})
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["details"]] == [field]
    assert (await client.get("/queue/overview")).json()["counts"] == {}


async def test_run_at_more_than_365_days_ahead_is_refused(client):
    too_far = (datetime.now(UTC) + timedelta(days=366)).isoformat()
    response = await client.post("/queue/add", json={"app_id": "com.far", "run_at": too_far})
    assert response.status_code == 422
    assert response.json()["details"] == [{"field": "run_at", "message": "At most 365 days ahead"}]
    near = (datetime.now(UTC) + timedelta(days=364)).isoformat()
    ok = await client.post("/queue/add", json={"app_id": "com.far", "run_at": near})
    assert ok.status_code == 201


# Named priorities


@pytest.mark.parametrize(
    ("name", "number"), [("low", 1), ("normal", 3), ("high", 5), ("urgent", 7), ("critical", 9)]
)
async def test_a_named_priority_is_stored_as_its_number(client, name, number):
    created = await add(client, f"com.{name}", priority=name)
    job = (await client.get(f"/queue/jobs/{created['job_id']}")).json()
    assert job["priority"] == number


async def test_named_priorities_order_claims(client):
    await add(client, "com.low", priority="low")
    await add(client, "com.critical", priority="critical")
    await add(client, "com.eight", priority=8)
    claimed = await claim(client, "scraper", limit=3)
    assert [j["app_id"] for j in claimed] == ["com.critical", "com.eight", "com.low"]


async def test_the_schema_gives_both_forms_of_priority(client):
    document = (await client.get("/schema/openapi.json")).json()
    priority = document["components"]["schemas"]["AddJob"]["properties"]["priority"]
    forms = priority["anyOf"]
    assert {"type": "integer", "minimum": 1, "maximum": 10} in forms
    assert {"enum": ["critical", "high", "low", "normal", "urgent"]} in forms


# Batch add


async def test_a_batch_adds_each_item_and_answers_each_in_order(client):
    await add(client, "com.active")
    items = [
        {"app_id": "com.one", "priority": "high"},
        {"app_id": "com.active"},
        {"app_id": "com.two", "delay_seconds": 60},
        {"app_id": "com.bad", "priority": 11},
        {"app_id": "com.one"},  # the same app again in one batch: one job
        {"app_id": "com.three", "nope": 1},
        {"app_id": "com.far", "run_at": "2999-01-01T00:00:00Z"},
    ]
    response = await client.post("/queue/add/batch", json={"jobs": items})
    assert response.status_code == 201, response.text
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [(r["code"], r["status"]) for r in results] == [
        (201, "queued"),
        (200, "queued_already"),
        (201, "queued"),
        (422, "failed"),
        (200, "queued_already"),
        (422, "failed"),
        (422, "failed"),
    ]
    assert results[4]["job_id"] == results[0]["job_id"]
    assert "available_at" in results[2]
    assert results[3]["details"][0]["field"] == "jobs[3].priority"
    assert results[3]["error"] == "Invalid request: check jobs[3].priority"
    assert results[5]["details"][0]["field"] == "jobs[5].nope"
    assert results[6]["details"][0]["field"] == "jobs[6].run_at"
    assert results[3]["app_id"] == "com.bad"
    assert {k: body[k] for k in ("created", "queued_already", "exists", "failed")} == {
        "created": 2,
        "queued_already": 2,
        "exists": 0,
        "failed": 3,
    }
    job = (await client.get(f"/queue/jobs/{results[0]['job_id']}")).json()
    assert job["priority"] == 5
    overview = (await client.get("/queue/overview")).json()
    assert overview["active_total"] == 3  # com.active, com.one, com.two


async def test_a_batch_that_creates_nothing_answers_200(client):
    await add(client, "com.one")
    response = await client.post(
        "/queue/add/batch", json={"jobs": [{"app_id": "com.one"}, {"app_id": "no way"}]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 0 and response.json()["failed"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"jobs": []}, "jobs"),
        ({"jobs": [{"app_id": f"com.a{n}"} for n in range(101)]}, "jobs"),
        ({"jobs": ["com.one"]}, "jobs[0]"),
        ({}, "jobs"),
        ({"jobs": [{"app_id": "com.one"}], "force": True}, "force"),
    ],
)
async def test_a_bad_batch_is_a_422_naming_the_field_and_adds_nothing(client, body, field):
    response = await client.post("/queue/add/batch", json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["details"]] == [field]
    assert (await client.get("/queue/overview")).json()["counts"] == {}


async def test_a_batch_of_100_is_accepted(client):
    items = [{"app_id": f"com.app{n}"} for n in range(100)]
    response = await client.post("/queue/add/batch", json={"jobs": items})
    assert response.status_code == 201 and response.json()["created"] == 100
