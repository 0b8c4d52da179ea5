"""Recurring schedules: the /schedules API, and firings under a controlled clock (embedded store;
real MongoDB when given)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.clock import iso
from tests import helpers
from tests.conftest import backend_settings
from tests.helpers import claim, update


def _next_monday() -> datetime:
    """05:00 UTC on a Monday ahead of the real clock: the TTL indexes (which the embedded store
    applies by the real clock) must not take the jobs the controlled clock finishes."""
    today = datetime.now(UTC).date() + timedelta(days=7)
    monday = today + timedelta(days=(7 - today.weekday()) % 7)
    return datetime.combine(monday, time(5), tzinfo=UTC)


START = _next_monday()


def day(n: int, hour: int, minute: int = 0, zone: str = "UTC") -> datetime:
    """`hour:minute` in `zone` on the n-th day after START's (0: START's Monday), in UTC."""
    local = datetime.combine(START.date() + timedelta(days=n), time(hour, minute))
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


class Clock(helpers.Clock):
    def at(self, when: datetime) -> None:
        self.now = when


@pytest.fixture
async def quiet(backend):
    """A client whose sweeps run only when a test calls them, on a clock the test moves."""
    settings = backend_settings(backend, schedule_interval=3600, reap_interval=3600)
    try:
        async with AsyncTestClient(app=create_app(next(settings))) as client:
            clock = Clock(START)
            client.app.state.store._clock = clock
            yield client, clock, client.app.state.schedules
    finally:
        settings.close()


async def new_schedule(client, **fields) -> dict:
    body = {"app_id": "com.spotify.music", "cron": "0 6 * * *", **fields}
    response = await client.post("/schedules", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def get(client, schedule_id: str) -> dict:
    response = await client.get(f"/schedules/{schedule_id}")
    assert response.status_code == 200, response.text
    return response.json()


# The API


async def test_a_new_schedule_answers_201_with_its_next_run(quiet):
    client, _, _ = quiet
    made = await new_schedule(
        client, cron="30 7 * * mon-fri", timezone="Europe/Berlin", priority="urgent"
    )
    assert made["next_run_at"] == iso(day(0, 7, 30, "Europe/Berlin"))
    assert (made["priority"], made["force"], made["paused"], made["runs"]) == (7, True, False, 0)
    assert made["last_result"] is None and made["timezone"] == "Europe/Berlin"
    assert await get(client, made["schedule_id"]) == made


async def test_day_of_week_numbers_are_read_as_crontab_reads_them(quiet):
    client, _, _ = quiet
    sunday = await new_schedule(client, cron="0 9 * * 0")
    assert sunday["next_run_at"] == iso(day(6, 9))  # Sunday, not Monday
    weekdays = await new_schedule(client, app_id="com.b", cron="0 9 * * 1-5")
    assert weekdays["next_run_at"] == iso(day(0, 9))  # this Monday
    seventh = await new_schedule(client, app_id="com.c", cron="0 9 * * 7")
    assert seventh["next_run_at"] == sunday["next_run_at"]
    from_seventh = await new_schedule(client, app_id="com.d", cron="0 9 * * 7/2")
    assert from_seventh["next_run_at"] == sunday["next_run_at"]


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"cron": "61 * * * *"}, "cron", "higher than the maximum value (59)"),
        ({"cron": "* * * *"}, "cron", "Wrong number of fields: got 4, expected 5"),
        ({"cron": "every morning"}, "cron", "Wrong number of fields"),
        ({"cron": "x * * * *"}, "cron", 'Unrecognized expression "x" for field "minute"'),
        ({"cron": "0 0 30 2 *"}, "cron", "This expression never fires"),
        ({"cron": "0 0 * * 8"}, "cron", "is not 0-7"),
        ({"cron": "0 0 * * 5-1"}, "cron", "runs backwards"),
        ({"cron": "0 0 \u0661 * *"}, "cron", "Only ASCII"),  # an Arabic-Indic 1
        ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone 'Mars/Olympus'"),
        ({"timezone": "../../etc/passwd"}, "timezone", ""),
        ({"cron": ""}, "cron", ""),
        ({"cron": "0 " * 101}, "cron", ""),
        ({"priority": "extreme"}, "priority", ""),
        ({"params": {"$where": 1}}, "params.$where", ""),
        ({"app_id": "no way"}, "app_id", ""),
        ({"force": "yes"}, "force", ""),
        ({"every": "day"}, "every", ""),
    ],
)
async def test_a_bad_schedule_is_a_422_with_the_reason_and_stores_nothing(
    quiet, fields, field, reason
):
    client, _, _ = quiet
    body = {"app_id": "com.a", "cron": "0 6 * * *", **fields}
    response = await client.post("/schedules", json=body)
    assert response.status_code == 422, response.text
    [detail] = response.json()["details"]
    assert detail["field"] == field and reason in detail["message"], detail
    assert (await client.get("/schedules")).json()["schedules"] == []


async def test_schedules_are_listed_a_page_at_a_time_and_by_app(quiet):
    client, _, _ = quiet
    made = [await new_schedule(client, app_id=f"com.app{n % 2}") for n in range(5)]
    first = (await client.get("/schedules", params={"limit": 2})).json()
    assert [s["schedule_id"] for s in first["schedules"]] == [m["schedule_id"] for m in made[:2]]
    rest = (await client.get("/schedules", params={"cursor": first["next_cursor"]})).json()
    assert [s["schedule_id"] for s in rest["schedules"]] == [m["schedule_id"] for m in made[2:]]
    assert rest["next_cursor"] is None
    one_app = (await client.get("/schedules", params={"app_id": "com.app1"})).json()
    assert [s["schedule_id"] for s in one_app["schedules"]] == [
        made[1]["schedule_id"],
        made[3]["schedule_id"],
    ]
    # Only a cursor a listing gave out: not a schedule id, not garbage.
    for cursor in (made[0]["schedule_id"], "garbage", ""):
        refused = await client.get("/schedules", params={"cursor": cursor})
        assert refused.status_code == 422, refused.text
        assert refused.json()["details"][0]["field"] == "cursor"


async def test_unknown_schedules_are_404(quiet):
    client, _, _ = quiet
    json = {"Content-Type": "application/json"}
    for method, path in [
        ("GET", "/schedules/nope"),
        ("DELETE", "/schedules/nope"),
        ("POST", "/schedules/nope/pause"),
        ("POST", "/schedules/nope/resume"),
    ]:
        response = await client.request(method, path, headers=json)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json() == {"error": "No such schedule", "details": {"schedule_id": "nope"}}
    patched = await client.patch("/schedules/nope", json={"priority": 1})
    assert patched.status_code == 404


async def test_patch_changes_fields_and_a_new_cron_sets_the_next_run(quiet):
    client, _, _ = quiet
    made = await new_schedule(client)
    changed = await client.patch(
        f"/schedules/{made['schedule_id']}", json={"priority": "low", "params": {"lang": "de"}}
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["priority"], body["params"], body["cron"]) == (1, {"lang": "de"}, "0 6 * * *")
    assert body["next_run_at"] == made["next_run_at"]
    moved = await client.patch(
        f"/schedules/{made['schedule_id']}", json={"cron": "15 5 * * *", "timezone": "UTC"}
    )
    assert moved.json()["next_run_at"] == iso(day(0, 5, 15))
    bad = await client.patch(f"/schedules/{made['schedule_id']}", json={"cron": "0 0 31 2 *"})
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "cron"
    assert (await get(client, made["schedule_id"]))["cron"] == "15 5 * * *"
    unknown = await client.patch(f"/schedules/{made['schedule_id']}", json={"paused": True})
    assert unknown.status_code == 422 and unknown.json()["details"][0]["field"] == "paused"


async def test_pause_and_resume(quiet):
    client, clock, _ = quiet
    made = await new_schedule(client)
    url = f"/schedules/{made['schedule_id']}"
    json = {"Content-Type": "application/json"}
    paused = (await client.post(f"{url}/pause", headers=json)).json()
    assert paused["paused"] is True and paused["next_run_at"] is None
    assert (await client.post(f"{url}/pause", headers=json)).json() == paused  # idempotent
    patched = await client.patch(url, json={"cron": "0 7 * * *"})
    assert patched.json()["next_run_at"] is None  # still paused
    clock.at(day(3, 5))
    resumed = (await client.post(f"{url}/resume", headers=json)).json()
    assert resumed["paused"] is False
    assert resumed["next_run_at"] == iso(day(3, 7))  # from now: nothing made up
    again = (await client.post(f"{url}/resume", headers=json)).json()
    assert again["next_run_at"] == resumed["next_run_at"]


async def test_delete_answers_the_schedule_then_it_is_gone(quiet):
    client, _, _ = quiet
    made = await new_schedule(client)
    deleted = await client.delete(f"/schedules/{made['schedule_id']}")
    assert deleted.status_code == 200 and deleted.json()["schedule_id"] == made["schedule_id"]
    assert (await client.get(f"/schedules/{made['schedule_id']}")).status_code == 404


# Firing, under a controlled clock


async def test_a_schedule_fires_on_time_once_per_due_time(quiet):
    client, clock, schedules = quiet
    made = await new_schedule(client, priority="high", params={"country": "de"})
    clock.at(day(0, 6) - timedelta(milliseconds=1))
    assert await schedules.fire_due() == []
    clock.at(day(0, 6))
    [firing] = await schedules.fire_due()
    assert (firing.result, firing.app_id) == ("queued", "com.spotify.music")
    assert await schedules.fire_due() == []  # that due time is done
    fired = await get(client, made["schedule_id"])
    assert fired["runs"] == 1 and fired["last_result"] == "queued"
    assert fired["last_run_at"] == iso(day(0, 6))
    assert fired["next_run_at"] == iso(day(1, 6))
    job = (await client.get(f"/queue/jobs/{fired['last_job_id']}")).json()
    assert (job["app_id"], job["priority"], job["params"]) == (
        "com.spotify.music",
        5,
        {"country": "de"},
    )
    assert job["requested_at"] == iso(clock.now)


async def test_an_active_run_means_the_firing_is_skipped_and_a_done_app_is_refreshed(quiet):
    client, clock, schedules = quiet
    made = await new_schedule(client)
    clock.at(day(0, 6))
    [first] = await schedules.fire_due()
    clock.at(day(1, 6))  # the run is still queued
    [skipped] = await schedules.fire_due()
    assert (skipped.result, skipped.job_id) == ("queued_already", first.job_id)
    assert (await get(client, made["schedule_id"]))["last_result"] == "queued_already"
    # The run finishes; the next firing refreshes the app (force, by default).
    [job] = await claim(client, "scraper")
    await update(client, job["job_id"], "nlp", "queued", lease_token=job["lease_token"])
    [job] = await claim(client, "nlp")
    await update(client, job["job_id"], "done", "completed", lease_token=job["lease_token"])
    clock.at(day(2, 6))
    [refreshed] = await schedules.fire_due()
    assert refreshed.result == "queued" and refreshed.job_id != first.job_id
    assert (await get(client, made["schedule_id"]))["runs"] == 3


async def test_without_force_a_done_app_is_left_alone(quiet):
    client, clock, schedules = quiet
    await new_schedule(client, force=False)
    clock.at(day(0, 6))
    [first] = await schedules.fire_due()
    [job] = await claim(client, "scraper")
    await update(client, job["job_id"], "nlp", "queued", lease_token=job["lease_token"])
    [job] = await claim(client, "nlp")
    await update(client, job["job_id"], "done", "completed", lease_token=job["lease_token"])
    clock.at(day(1, 6))
    [again] = await schedules.fire_due()
    assert (again.result, again.job_id) == ("exists", first.job_id)


async def test_firings_missed_while_no_service_ran_are_made_up_once(quiet):
    client, clock, schedules = quiet
    made = await new_schedule(client)
    clock.at(day(5, 12))  # six due times went by
    [firing] = await schedules.fire_due()
    assert firing.due_at.replace(tzinfo=UTC) == day(0, 6)
    assert await schedules.fire_due() == []
    after = await get(client, made["schedule_id"])
    assert after["runs"] == 1 and after["next_run_at"] == iso(day(6, 6))


async def test_a_paused_schedule_does_not_fire(quiet):
    client, clock, schedules = quiet
    made = await new_schedule(client)
    await client.post(
        f"/schedules/{made['schedule_id']}/pause", headers={"Content-Type": "application/json"}
    )
    clock.at(day(7, 6))
    assert await schedules.fire_due() == []


async def test_the_sweep_in_the_service_fires_due_schedules(backend):
    """The scheduler's own sweep (every REVIEW_QUEUE_SCHEDULE_INTERVAL), on the real clock."""
    import asyncio

    settings = backend_settings(backend, schedule_interval=0.1, reap_interval=3600)
    try:
        async with AsyncTestClient(app=create_app(next(settings))) as client:
            made = await new_schedule(client, cron="* * * * *")
            store = client.app.state.schedules.schedules
            await store.update_one(
                {"_id": made["schedule_id"]},
                {"$set": {"next_run_at": datetime.now(UTC) - timedelta(seconds=1)}},
            )
            for _ in range(100):
                await asyncio.sleep(0.05)
                if (await get(client, made["schedule_id"]))["runs"]:
                    break
            fired = await get(client, made["schedule_id"])
            assert fired["runs"] == 1 and fired["last_result"] == "queued"
    finally:
        settings.close()
