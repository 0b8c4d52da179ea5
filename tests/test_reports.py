"""The daily overview report: one day's counts, failures, per-stage wait and processing
percentiles, apps completed and the backlog at its end, from job_history; one document per
date however many replicas store it; the routes; the scheduled job."""

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from pymongo.errors import DuplicateKeyError

from service.app import create_app
from service.cli import main
from service.clock import day_bounds
from service.domain import NLP_QUEUED, SCRAPER_ERROR, Stage, State, Status
from service.reports import TODAY_FRESH_SECONDS, ReportStore, percentiles
from service.results import ResultStore
from service.scheduler import start_scheduler, store_daily_report
from service.store import JobStore
from tests import helpers

ZONE = "Europe/Berlin"  # UTC+2 in April: the day is not the UTC day
DAY = date(2025, 4, 20)
DONE = State(Stage.DONE, Status.COMPLETED)


class Clock(helpers.Clock):
    def __init__(self) -> None:
        super().__init__(datetime(2025, 4, 1, tzinfo=UTC))

    def local(self, day: date, hour: int, minute: int = 0, second: int = 0) -> None:
        """Set the time to a local time of `day` in ZONE."""
        at = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ZoneInfo(ZONE))
        self.now = at.astimezone(UTC)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def stores(connection, clock):
    jobs = JobStore(connection.database, client=connection.client, clock=clock)
    await jobs.ensure_indexes()
    results = ResultStore(connection.database, bulk_writes=False, clock=clock)
    reports = ReportStore(connection.database, jobs, timezone=ZONE, clock=clock)
    return jobs, results, reports


async def add(jobs: JobStore, app_id: str) -> str:
    outcome, job = await jobs.add(app_id, priority=5, params={}, force=False)
    assert outcome == "created"
    return job["_id"]


async def claim(jobs: JobStore, job_id: str, stage: Stage) -> str:
    return (await jobs.claim(job_id, stage, "w1", 3600))["lease_token"]


async def a_day_of_work(jobs: JobStore, results: ResultStore, clock: Clock) -> dict[str, str]:
    """The scenario the figures below are worked out from (local times in Berlin)."""
    before, after = DAY - timedelta(days=1), DAY + timedelta(days=1)
    ids = {}
    # The day before: F fails for good; A is added at 23:50 ...
    clock.local(before, 20)
    ids["F"] = await add(jobs, "com.report.f")
    token = await claim(jobs, ids["F"], Stage.SCRAPER)
    await jobs.transition(ids["F"], SCRAPER_ERROR, token=token, error_message="x", retryable=False)
    clock.local(before, 23, 50)
    ids["A"] = await add(jobs, "com.report.a")
    # ... and runs through both stages after midnight: waits 20 min and 1 min, runs 5 and 4.
    clock.local(DAY, 0, 10)
    token = await claim(jobs, ids["A"], Stage.SCRAPER)
    clock.local(DAY, 0, 15)
    await jobs.transition(ids["A"], NLP_QUEUED, token=token)
    clock.local(DAY, 0, 16)
    token = await claim(jobs, ids["A"], Stage.NLP)
    summary = {"review_count": 10, "sentiment": {"positive": 6, "neutral": 1, "negative": 3}}
    await results.store_summary("com.report.a", ids["A"], {**summary, "average_rating": 3.9})
    clock.local(DAY, 0, 20)
    await jobs.transition(ids["A"], DONE, token=token)
    # B: waits 30 s, fails for good after 60 s.
    clock.local(DAY, 10)
    ids["B"] = await add(jobs, "com.report.b")
    clock.local(DAY, 10, 0, 30)
    token = await claim(jobs, ids["B"], Stage.SCRAPER)
    clock.local(DAY, 10, 1, 30)
    await jobs.transition(
        ids["B"], SCRAPER_ERROR, token=token, error_message="app not found", retryable=False
    )
    # C: waits 10 s, fails after 10 s with runs left: queued again, still queued at midnight.
    clock.local(DAY, 11)
    ids["C"] = await add(jobs, "com.report.c")
    clock.local(DAY, 11, 0, 10)
    token = await claim(jobs, ids["C"], Stage.SCRAPER)
    clock.local(DAY, 11, 0, 20)
    await jobs.transition(ids["C"], SCRAPER_ERROR, token=token, error_message="timeout")
    # D: added at 23:00, claimed at 23:30 (processing at midnight), done after midnight.
    clock.local(DAY, 23)
    ids["D"] = await add(jobs, "com.report.d")
    clock.local(DAY, 23, 30)
    token = await claim(jobs, ids["D"], Stage.SCRAPER)
    clock.local(after, 0, 1)
    await jobs.transition(ids["D"], NLP_QUEUED, token=token)
    # E: the next day: not part of DAY at all.
    clock.local(after, 0, 2)
    ids["E"] = await add(jobs, "com.report.e")
    clock.local(after, 0, 5)  # REVIEW_QUEUE_REPORT_TIME
    return ids


async def test_a_day_report_counts_times_apps_and_the_backlog_at_its_end(stores, clock):
    jobs, results, reports = stores
    ids = await a_day_of_work(jobs, results, clock)
    report = await reports.store_previous_day()

    assert report["_id"] == report["date"] == "2025-04-20"
    assert (report["start"], report["end"]) == (
        "2025-04-19T22:00:00.000Z",
        "2025-04-20T22:00:00.000Z",
    )
    assert report["complete"] is True and report["timezone"] == ZONE
    assert report["jobs"] == {
        "added": 3,  # B, C, D (A was added the day before)
        "completed": 1,
        "failed": 1,
        "cancelled": 0,
        "requeued": 0,
        "retried": 1,
        "released": 0,
        "lease_expired": 0,
    }
    assert report["failures"] == {
        "by_stage": {"scraper": 1, "nlp": 0},
        "top_errors": [{"stage": "scraper", "message": "app not found", "count": 1}],
    }
    scraper, nlp = report["stages"]["scraper"], report["stages"]["nlp"]
    # Waits: A 1200 s (queued the day before), B 30, C 10, D 1800.
    assert scraper["wait"] == {"count": 4, "p50": 30.0, "p90": 1800.0, "p99": 1800.0, "max": 1800.0}
    # Runs that ended that day: A 300 s, B 60, C 10 (D's ended the next day).
    assert scraper["processing"] == {
        "count": 3,
        "p50": 60.0,
        "p90": 300.0,
        "p99": 300.0,
        "max": 300.0,
    }
    assert nlp["wait"]["max"] == 60.0 and nlp["processing"]["p50"] == 240.0
    assert report["apps_completed"] == [
        {
            "app_id": "com.report.a",
            "job_id": ids["A"],
            "completed_at": "2025-04-19T22:20:00.000Z",
            "review_count": 10,
            "average_rating": 3.9,
            "sentiment": {"positive": 6, "neutral": 1, "negative": 3},
        }
    ]
    assert report["backlog"] == {
        "at": "2025-04-20T22:00:00.000Z",
        "total": 2,
        "by_stage": {
            "scraper": {"queued": 1, "processing": 1},
            "nlp": {"queued": 0, "processing": 0},
        },
    }
    hours = {hour["hour"]: hour for hour in report["per_hour"]}
    assert len(report["per_hour"]) == 24
    assert (hours["00:00"]["completed"], hours["10:00"]["added"], hours["10:00"]["failed"]) == (
        1,
        1,
        1,
    )
    assert sum(h["added"] for h in report["per_hour"]) == 3


async def test_one_document_per_date_however_many_replicas_store_it(stores, connection, clock):
    # Racing for real needs a server (TEST_MONGODB_URI): the next test makes the race happen.
    jobs, results, reports = stores
    await a_day_of_work(jobs, results, clock)
    replicas = [
        ReportStore(connection.database, jobs, timezone=ZONE, clock=clock) for _ in range(3)
    ]
    stored = await asyncio.gather(*(r.store_previous_day() for r in [reports, *replicas]))
    assert await reports.reports.count_documents({}) == 1
    kept = await reports.reports.find_one({"_id": "2025-04-20"})
    without_time = [{k: v for k, v in r.items() if k != "generated_at"} for r in stored]
    assert all(r == without_time[0] for r in without_time)
    assert {k: v for k, v in kept.items() if k != "generated_at"} == without_time[0]
    clock.now += timedelta(hours=1)
    await reports.store_previous_day()  # the next run replaces it, still one
    assert await reports.reports.count_documents({}) == 1


async def test_an_upsert_that_loses_the_race_to_insert_is_tried_again(stores, clock):
    """Two upserts of one new _id at the same moment: on a real server one may fail with a
    duplicate key error (the embedded store never races), and is then tried once more."""
    jobs, results, reports = stores
    await a_day_of_work(jobs, results, clock)
    real_replace = reports.reports.replace_one
    losses = []

    async def lose_first(*args, **kwargs):
        if not losses:
            losses.append(args[0])
            await real_replace(*args, **kwargs)  # the other replica's insert
            raise DuplicateKeyError("E11000 duplicate key error")
        return await real_replace(*args, **kwargs)

    reports.reports.replace_one = lose_first
    stored = await reports.store_previous_day()
    assert losses == [{"_id": "2025-04-20"}]
    assert await reports.reports.count_documents({}) == 1
    kept = await reports.reports.find_one({"_id": "2025-04-20"})
    assert kept["generated_at"] == stored["generated_at"]

    async def always_lose(*args, **kwargs):
        raise DuplicateKeyError("E11000 duplicate key error")

    reports.reports.replace_one = always_lose  # not a race: said, not hidden
    with pytest.raises(DuplicateKeyError):
        await reports.store_previous_day()


async def test_a_summary_replaced_by_a_later_run_is_not_reported_as_that_runs(stores, clock):
    jobs, results, reports = stores
    ids = await a_day_of_work(jobs, results, clock)
    await results.store_summary("com.report.a", "a-later-run", {"review_count": 99})
    [app] = (await reports.compute(DAY))["apps_completed"]
    assert app["job_id"] == ids["A"] and app["review_count"] is None and app["sentiment"] is None


async def test_today_is_the_day_so_far_with_the_backlog_now(stores, clock):
    jobs, results, reports = stores
    await a_day_of_work(jobs, results, clock)  # ends at 00:05 the next day: E queued
    report, source = await reports.report(reports.today())
    assert source == "today" and report["complete"] is False
    assert report["jobs"]["added"] == 1 and report["jobs"]["failed"] == 0
    assert report["backlog"]["by_stage"]["scraper"]["queued"] == 2  # C (backing off) and E
    assert report["backlog"]["by_stage"]["nlp"]["queued"] == 1  # D
    assert await reports.reports.count_documents({}) == 0  # today is never stored


async def test_today_is_computed_at_most_once_every_few_seconds_per_date(stores, clock):
    jobs, _, reports = stores
    clock.local(DAY, 9)
    first, _ = await reports.report(reports.today())
    await add(jobs, "com.report.later")
    clock.local(DAY, 9, 0, int(TODAY_FRESH_SECONDS) - 1)
    kept, source = await reports.report(reports.today())
    assert source == "today" and kept == first and kept["jobs"]["added"] == 0
    clock.local(DAY, 9, 0, int(TODAY_FRESH_SECONDS))
    assert (await reports.report(reports.today()))[0]["jobs"]["added"] == 1
    clock.local(DAY + timedelta(days=1), 0, 0, 1)  # midnight: the next day is its own
    assert (await reports.report(reports.today()))[0]["date"] != first["date"]


def test_percentiles_are_nearest_rank():
    assert percentiles([]) is None
    assert percentiles([5]) == {"count": 1, "p50": 5, "p90": 5, "p99": 5, "max": 5}
    hundred = percentiles(range(1, 101))
    assert (hundred["p50"], hundred["p90"], hundred["p99"], hundred["max"]) == (50, 90, 99, 100)


def test_a_day_is_midnight_to_midnight_in_the_zone_23_or_25_hours_when_clocks_change():
    berlin = ZoneInfo(ZONE)
    start, end = day_bounds(date(2025, 3, 30), berlin)
    assert (end - start) == timedelta(hours=23)
    start, end = day_bounds(date(2025, 10, 26), berlin)
    assert (end - start) == timedelta(hours=25)
    assert day_bounds(date(2025, 4, 20), ZoneInfo("UTC"))[0] == datetime(2025, 4, 20, tzinfo=UTC)


# The routes


ADMIN = "reports-admin-" + "k" * 32


@pytest.fixture
async def keyed(settings):
    app = create_app(replace(settings, auth="required", admin_key=ADMIN, timezone=ZONE))
    async with AsyncTestClient(app=app) as http:
        http.headers["Authorization"] = f"Bearer {ADMIN}"
        reader = await http.post("/auth/keys", json={"name": "r", "role": "reader"})
        yield http, {"Authorization": f"Bearer {reader.json()['key']}"}, app


async def test_the_routes_answer_stored_computed_and_today(keyed):
    http, reader, app = keyed
    today = app.state.reports.today()
    yesterday = (today - timedelta(days=1)).isoformat()
    await http.post("/queue/add", json={"app_id": "com.report.route"})

    listed = await http.get("/reports/daily", headers=reader)
    assert listed.status_code == 200
    assert listed.json() == {"timezone": ZONE, "today": today.isoformat(), "reports": []}

    first = await http.get(f"/reports/daily/{yesterday}", headers=reader)
    assert first.status_code == 200, first.text
    assert first.json()["source"] == "computed" and first.json()["date"] == yesterday
    again = await http.get(f"/reports/daily/{yesterday}", headers=reader)
    assert again.json() == {**first.json(), "source": "stored"}

    now = await http.get("/reports/daily/today", headers=reader)
    assert now.json()["source"] == "today" and now.json()["complete"] is False
    assert now.json()["jobs"]["added"] == 1 and now.json()["backlog"]["total"] == 1
    same = await http.get(f"/reports/daily/{today.isoformat()}", headers=reader)
    assert same.json()["source"] == "today"

    listed = (await http.get("/reports/daily", headers=reader)).json()["reports"]
    assert [r["date"] for r in listed] == [yesterday]  # today is not stored
    older = await http.get("/reports/daily", params={"before": yesterday}, headers=reader)
    assert older.json()["reports"] == []


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/reports/daily/2025-02-30", "date"),
        ("/reports/daily/20250420", "date"),
        ("/reports/daily/tomorrow", "date"),
        ("/reports/daily/9999-12-31", "date"),
        # Europe/Berlin is ahead of UTC: the midnight of 0001-01-01 there is no UTC datetime
        ("/reports/daily/0001-01-01", "date"),
        ("/reports/daily/1969-12-31", "date"),
        ("/reports/daily?before=2025-13-01", "before"),
        ("/reports/daily?before=0001-01-01", "before"),
    ],
)
async def test_a_malformed_or_future_date_is_a_422_naming_it(keyed, path, field):
    http, reader, _ = keyed
    answer = await http.get(path, headers=reader)
    assert answer.status_code == 422, answer.text
    assert answer.json()["details"][0]["field"] == field


async def test_a_day_whose_history_is_gone_is_a_404_and_nothing_is_stored(keyed):
    http, reader, app = keyed
    gone = (app.state.reports.today() - timedelta(days=31)).isoformat()
    answer = await http.get(f"/reports/daily/{gone}", headers=reader)
    assert answer.status_code == 404
    assert answer.json()["details"] == {"date": gone, "retention_days": 30}
    assert await app.state.reports.reports.count_documents({}) == 0


async def test_reports_need_a_key(keyed):
    http, _, _ = keyed
    for path in ("/reports/daily", "/reports/daily/today"):
        assert (await http.get(path, headers={"Authorization": ""})).status_code == 401


# The scheduled job


async def test_the_scheduler_stores_yesterday_at_the_report_time_in_the_zone(stores, settings):
    jobs, _, reports = stores
    configured = replace(settings, report_time="03:30", timezone=ZONE)
    scheduler = start_scheduler(jobs, configured, reports=reports)
    try:
        job = scheduler.get_job("daily-report")
        fields = {f.name: str(f) for f in job.trigger.fields}
        assert (fields["hour"], fields["minute"]) == ("3", "30")
        assert str(job.trigger.timezone) == ZONE
    finally:
        scheduler.shutdown(wait=False)
    await store_daily_report(reports)
    assert await reports.reports.find_one(
        {"_id": (reports.today() - timedelta(days=1)).isoformat()}
    )


def test_a_bad_report_time_is_refused_by_the_command_line():
    result = CliRunner().invoke(main, ["serve", "--report-time", "25:00"])
    assert result.exit_code == 2 and "not a time of day" in result.output
