"""Every query the service sends is served by an index it declares, and every route keeps to
its round-trip budget.

The scenario below drives every route of the app (and the reaper) through a database wrapper
that records each command. Each recorded query is checked by the planner's rules
(`tests/query_planner.py`) against `service/indexes.py`; the test prints the table of
distinct query shapes and the index that serves each, and fails on a shape no index serves
without a blocking sort, on a route over its budget, and on a route the scenario does not
drive (so a new route cannot dodge the check). With TEST_MONGODB_URI the same queries are
also explained by the real server: no SORT stage and no COLLSCAN.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId
from litestar.testing import AsyncTestClient
from pymongo import IndexModel

import service.app
from service.app import create_app
from service.clock import utcnow
from service.indexes import declared
from service.settings import Settings
from tests.query_planner import Index, Verdict, plan, plan_pipeline, shape
from tests.recording import Command, RecordingDatabase

Budget = Callable[[dict, Any], int]  # (request body, answer) -> commands at most
ONE_JOB = 2  # a state change: its compare-and-set and its history row
WORKER_RECORD = 1  # the claiming worker's document, at most

BUDGETS: dict[str, Budget] = {
    # The active jobs' counts, the runs that ended in the last hour, the workers seen lately.
    "GET /health": lambda *_: 3,
    "POST /queue/add": lambda *_: 3,  # the app's current job; the insert and its history row
    # Each item is an add: 3 for a new job, 1 (the read) for one that finds a job active or
    # done, none for an item refused before it reaches the store.
    "POST /queue/add/batch": lambda _, result: (
        3 * result["created"] + result["queued_already"] + result["exists"]
    ),
    "GET /queue/poll": lambda *_: 1,
    # Each claim is a state change; when fewer jobs than asked for are claimable, one more
    # compare-and-set finds nothing; then the worker's record (written at most every 5 s per
    # worker, unless the worker says something new: service/workers.py).
    "POST /queue/poll": lambda asked, claimed: (
        ONE_JOB * len(claimed) + (len(claimed) < asked.get("limit", 1)) + WORKER_RECORD
    ),
    # A claim through update records its worker too.
    "POST /queue/{job_id}/update": lambda asked, _: (
        ONE_JOB + WORKER_RECORD * (asked.get("status") == "processing")
    ),
    # The extended lease. The worker's last_seen is written at most every 5 s per worker:
    # tests/test_workers_api.py counts those writes; here the claim has just written it.
    "POST /queue/{job_id}/heartbeat": lambda *_: 1,
    # The workers seen in the last day; the jobs they hold; their runs that ended today.
    "GET /workers": lambda *_: 3,
    "GET /metrics": lambda *_: 1,  # the active jobs' counts (the rest is in memory)
    "POST /schedules": lambda *_: 1,  # the insert (the cron is checked in memory)
    "GET /schedules": lambda *_: 1,
    "GET /schedules/{schedule_id}": lambda *_: 1,
    # The schedule (its cron and zone give the next run), then a compare-and-set on them.
    # A new cron or time zone: the read it is checked against, the compare-and-set; else one.
    "PATCH /schedules/{schedule_id}": lambda asked, _: 1 + bool({"cron", "timezone"} & set(asked)),
    "POST /schedules/{schedule_id}/pause": lambda *_: 1,
    "POST /schedules/{schedule_id}/resume": lambda *_: 2,  # the same as PATCH
    "DELETE /schedules/{schedule_id}": lambda *_: 1,
    "GET /queue/status/{app_id}": lambda *_: 1,
    "GET /queue/jobs/{job_id}": lambda *_: 1,
    "GET /queue/jobs/{job_id}/history": lambda *_: 1,
    "GET /queue/overview": lambda *_: 3,  # active jobs; their counts; what finished today
    "GET /queue/stats": lambda *_: 2,  # the active jobs' counts; the runs that ended today
    "GET /queue/dead-letter": lambda *_: 2,  # the total and the page
    "POST /queue/{job_id}/requeue": lambda *_: ONE_JOB,
    "POST /queue/{job_id}/cancel": lambda *_: ONE_JOB,
    "POST /queue/dead-letter/requeue": lambda _, result: 1 + ONE_JOB * result["requeued"],
    # The lease check, the batch (one bulk_write), the app's review count.
    "POST /apps/{app_id}/reviews": lambda *_: 3,
    "GET /apps/{app_id}/reviews": lambda *_: 2,  # the page and the total
    # The lease check, the known review ids, the batch, the summary.
    "PUT /apps/{app_id}/analysis": lambda *_: 4,
    "GET /apps/{app_id}/summary": lambda *_: 2,  # the app's current job, its summary
    "POST /auth/keys": lambda *_: 1,
    "GET /auth/keys": lambda *_: 1,
    "DELETE /auth/keys/{key_id}": lambda *_: 1,
    # A key's first request looks it up (an admin key from the settings never is); later ones
    # find it in the cache: no round trip.
    "GET /auth/me": lambda *_: 1,
    # The replay after a Last-Event-ID: one query per 500 history rows (one job's: one query).
    # Without Last-Event-ID the stream reads nothing; live events cost no round trip.
    "GET /queue/events": lambda *_: 1,
    "GET /reports/daily": lambda *_: 1,
    "GET /queue/oldest-waiting": lambda *_: 2,  # one per work stage
    "GET /apps/{app_id}/jobs": lambda *_: 1,
    # The dashboard's page and its files hold no data: no command at all.
    "GET /dashboard": lambda *_: 0,
    "GET /dashboard/assets/{name}": lambda *_: 0,
    # Stored: its lookup. Today: the day's rows, the active counts, the history of the jobs
    # measured from an earlier row (when any was measured), the summaries of the apps completed
    # (when any was). A past day computed: its lookup, the day's rows, the jobs that may have
    # been waiting at its end (active now; finished since), the history of those jobs and of
    # those measured from an earlier row, the summaries, the upsert. Each `$in` query takes 100
    # ids: every further 100 jobs or apps adds one.
    "GET /reports/daily/{date}": lambda _, report: {
        "stored": 1,
        "today": 2 + measured(report) + bool(report["apps_completed"]),
        "computed": 7,
    }[report["source"]],
}


def measured(report: dict) -> bool:
    """Whether a report measured any wait or run (so may have read rows from before its day)."""
    return any(times[kind] for times in report["stages"].values() for kind in times)


ADMIN_KEY = "plan-admin-" + "k" * 32
LIFECYCLE_BUDGET = 11  # add, claim, finish the scraper stage, claim, complete
# A sweep of the schedules: its query for what came due, then per firing its compare-and-set,
# the add (3 for a new job, 1 when the firing is skipped) and the outcome.
FIRING = {"queued": 1 + 3 + 1, "queued_already": 1 + 1 + 1, "exists": 1 + 1 + 1}
NOT_ROUTES = ("/schema",)


@dataclass
class Step:
    route: str
    status: int
    commands: list[Command]
    budget: int | None  # None: a refusal, where reading to explain is allowed


@dataclass
class Run:
    steps: list[Step] = field(default_factory=list)
    reaper: list[Command] = field(default_factory=list)
    sweep: list[Command] = field(default_factory=list)
    firings: list[Any] = field(default_factory=list)

    def queries(self) -> list[Command]:
        found = [c for s in self.steps for c in s.commands] + self.reaper + self.sweep
        return [c for c in found if c.is_query and c.collection != "$cmd"]


def round_trips(commands: list[Command]) -> int:
    """Commands as a server sees them. The embedded store writes a batch of reviews as one
    update_one per review where a server gets one bulk_write: a run of those counts once."""
    count, previous = 0, None
    for command in commands:
        batch = (command.collection, command.method) == ("reviews", "update_one")
        if not (batch and previous == "batch"):
            count += 1
        previous = "batch" if batch else None
    return count


class Driver:
    def __init__(self, http: AsyncTestClient, database: RecordingDatabase, run: Run) -> None:
        self.http, self.database, self.run = http, database, run

    async def call(
        self, route: str, url: str, expect: int = 200, budgeted: bool = True, **kwargs: Any
    ) -> Any:
        method = route.split()[0]
        before = len(self.database.commands)
        headers = {"Authorization": f"Bearer {ADMIN_KEY}", **kwargs.get("headers", {})}
        if method in ("POST", "PUT") and "json" not in kwargs:  # body-less, still JSON
            headers["Content-Type"] = "application/json"
        kwargs["headers"] = headers
        response = await self.http.request(method, url, **kwargs)
        assert response.status_code == expect, (route, url, response.text)
        json_answer = response.headers.get("content-type", "").startswith("application/json")
        body = response.json() if json_answer else response.text
        commands = self.database.commands[before:]
        budget = BUDGETS[route](kwargs.get("json") or {}, body) if budgeted else None
        self.run.steps.append(Step(route, response.status_code, commands, budget))
        return body

    async def stream(self, route: str, url: str, headers: dict[str, str]) -> bytes:
        """GET an event stream until it goes live (its replay is over), then disconnect; its
        commands are recorded like any other route's."""
        before = len(self.database.commands)
        received = await asyncio.to_thread(
            self.http.blocking_portal.call,
            read_until_live,
            self.http.app,
            url,
            {"Authorization": f"Bearer {ADMIN_KEY}", **headers},
        )
        commands = self.database.commands[before:]
        self.run.steps.append(Step(route, 200, commands, BUDGETS[route]({}, received)))
        return received


async def read_until_live(app: Any, url: str, headers: dict[str, str]) -> bytes:
    """Call the ASGI app with a GET of `url`; the client hangs up once ': live' has come."""
    path, _, query = url.partition("?")
    live = asyncio.Event()
    body: list[bytes] = []
    asked = False

    async def receive() -> dict:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await live.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))
            if b": live" in b"".join(body):
                live.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "extensions": {},
    }
    await asyncio.wait_for(app(scope, receive, send), 10)
    return b"".join(body)


async def drive_every_route(driver: Driver, app: Any) -> None:
    call = driver.call
    await call("GET /health", "/health")
    worker = await call("POST /auth/keys", "/auth/keys", 201, json={"name": "w1", "role": "worker"})
    as_worker = {"Authorization": f"Bearer {worker['key']}"}
    await call("GET /auth/me", "/auth/me", headers=as_worker)  # looked up once, then cached
    await call("GET /auth/keys", "/auth/keys")
    added = await call("POST /queue/add", "/queue/add", 201, json={"app_id": "com.plan.a"})
    await call("POST /queue/add", "/queue/add", json={"app_id": "com.plan.a"})
    job = added["job_id"]
    batch = [
        {"app_id": "com.plan.a"},
        {"app_id": "com.plan.later", "delay_seconds": 3600, "priority": "urgent"},
        {"app_id": "com.plan.later"},
        {"app_id": "com.plan.bad", "priority": 0},
    ]
    await call("POST /queue/add/batch", "/queue/add/batch", 201, json={"jobs": batch})
    await call("GET /queue/poll", "/queue/poll?stage=scraper&status=queued&limit=5")
    await call("GET /queue/poll", "/queue/poll?stage=any&status=any&limit=5")
    await call("GET /queue/poll", "/queue/poll?stage=nlp&status=any")
    [claimed] = await call(
        "POST /queue/poll",
        "/queue/poll",
        json={"stage": "scraper", "worker_version": "1.0", "capabilities": ["fixtures"]},
        headers=as_worker,
    )
    token = claimed["lease_token"]
    await call(
        "POST /queue/{job_id}/heartbeat",
        f"/queue/{job}/heartbeat",
        json={"lease_token": token, "progress": 10},
    )
    reviews = [
        {"review_id": f"r{n}", "content": "Works well", "score": 5, "at": "2026-01-02T03:04:05Z"}
        for n in range(3)
    ]
    await call(
        "POST /apps/{app_id}/reviews",
        "/apps/com.plan.a/reviews",
        json={"job_id": job, "lease_token": token, "reviews": reviews},
    )
    page = await call("GET /apps/{app_id}/reviews", "/apps/com.plan.a/reviews?limit=2")
    await call(
        "GET /apps/{app_id}/reviews", f"/apps/com.plan.a/reviews?cursor={page['next_cursor']}"
    )
    to_nlp = {"stage": "nlp", "status": "queued", "lease_token": token}
    await call("POST /queue/{job_id}/update", f"/queue/{job}/update", json=to_nlp)
    # The same request again (its answer was lost): 200, read to explain, no second change.
    await call("POST /queue/{job_id}/update", f"/queue/{job}/update", budgeted=False, json=to_nlp)
    [claimed] = await call(
        "POST /queue/poll", "/queue/poll", json={"stage": "nlp", "worker_id": "w2"}
    )
    token = claimed["lease_token"]
    analysis = [
        {"review_id": r["review_id"], "sentiment": {"compound": 0.5, "label": "positive"}}
        for r in reviews
    ]
    await call(
        "PUT /apps/{app_id}/analysis",
        "/apps/com.plan.a/analysis",
        json={
            "job_id": job,
            "lease_token": token,
            "reviews": analysis,
            "summary": {"review_count": 3},
        },
    )
    done = {"stage": "done", "status": "completed", "lease_token": token}
    await call("POST /queue/{job_id}/update", f"/queue/{job}/update", json=done)
    await call("GET /apps/{app_id}/summary", "/apps/com.plan.a/summary")
    await call("GET /queue/status/{app_id}", "/queue/status/com.plan.a")
    await call("GET /queue/jobs/{job_id}", f"/queue/jobs/{job}")
    await call("GET /queue/jobs/{job_id}/history", f"/queue/jobs/{job}/history")
    await call("POST /queue/add", "/queue/add", json={"app_id": "com.plan.a"})  # exists
    await call("POST /queue/add", "/queue/add", 201, json={"app_id": "com.plan.a", "force": True})

    # The seed's flow: poll, then claim by update; a failure for good makes dead letters.
    dead = []
    for app_id in ("com.plan.b", "com.plan.c"):
        job_id = (await call("POST /queue/add", "/queue/add", 201, json={"app_id": app_id}))[
            "job_id"
        ]
        claim = {"stage": "scraper", "status": "processing"}
        headers = {"X-Worker-ID": "w3"}
        body = await call(
            "POST /queue/{job_id}/update", f"/queue/{job_id}/update", json=claim, headers=headers
        )
        failed = {
            "stage": "scraper",
            "status": "error",
            "lease_token": body["lease_token"],
            "error_message": "not found",
            "retryable": False,
        }
        await call("POST /queue/{job_id}/update", f"/queue/{job_id}/update", json=failed)
        dead.append(job_id)
    listed = await call("GET /queue/dead-letter", "/queue/dead-letter", params={"limit": 1})
    await call("GET /queue/dead-letter", f"/queue/dead-letter?cursor={listed['next_cursor']}")
    await call("GET /queue/dead-letter", "/queue/dead-letter?stage=scraper")
    await call("POST /queue/{job_id}/requeue", f"/queue/{dead[0]}/requeue")
    await call("POST /queue/{job_id}/cancel", f"/queue/{dead[0]}/cancel")
    await call(
        "POST /queue/dead-letter/requeue", "/queue/dead-letter/requeue", json={"stage": "scraper"}
    )
    await call(
        "POST /queue/dead-letter/requeue",
        "/queue/dead-letter/requeue",
        json={"job_ids": [dead[0]]},
    )

    # A retry after a backoff, and hand-backs at both stages (two moves into nlp/queued).
    [claimed] = await call(
        "POST /queue/poll", "/queue/poll", json={"stage": "scraper", "worker_id": "w4"}
    )
    retry = {"stage": "scraper", "status": "error", "lease_token": claimed["lease_token"]}
    await call("POST /queue/{job_id}/update", f"/queue/{claimed['job_id']}/update", json=retry)
    await call("POST /queue/add", "/queue/add", 201, json={"app_id": "com.plan.d", "priority": 9})
    [claimed] = await call(
        "POST /queue/poll", "/queue/poll", json={"stage": "scraper", "worker_id": "w5"}
    )
    job_id, token = claimed["job_id"], claimed["lease_token"]
    release = {"stage": "scraper", "status": "queued", "lease_token": token}
    await call("POST /queue/{job_id}/update", f"/queue/{job_id}/update", json=release)
    [claimed] = await call(
        "POST /queue/poll", "/queue/poll", json={"stage": "scraper", "worker_id": "w5"}
    )
    to_nlp = {"stage": "nlp", "status": "queued", "lease_token": claimed["lease_token"]}
    await call("POST /queue/{job_id}/update", f"/queue/{job_id}/update", json=to_nlp)
    [claimed] = await call(
        "POST /queue/poll",
        "/queue/poll",
        json={"stage": "nlp", "worker_id": "w6", "lease_seconds": 1},
    )
    back = {"stage": "nlp", "status": "queued", "lease_token": claimed["lease_token"]}
    await call("POST /queue/{job_id}/update", f"/queue/{job_id}/update", json=back)
    await call(
        "POST /queue/poll", "/queue/poll", json={"stage": "nlp", "worker_id": "w6", "limit": 3}
    )

    # Refusals read to explain themselves: not budgeted, but their queries are checked too.
    stale = {"stage": "done", "status": "completed", "lease_token": "60.stale"}
    await call("POST /queue/{job_id}/update", f"/queue/{job_id}/update", 409, False, json=stale)
    await call(
        "POST /queue/{job_id}/heartbeat",
        f"/queue/{job_id}/heartbeat",
        409,
        False,
        json={"lease_token": "60.stale"},
    )
    await call("POST /queue/{job_id}/cancel", f"/queue/{job}/cancel", 409, False)
    await call("POST /queue/{job_id}/requeue", f"/queue/{job}/requeue", 409, False)
    await call("GET /queue/jobs/{job_id}/history", "/queue/jobs/nope/history", 404, False)
    await call("GET /queue/overview", "/queue/overview")
    await call("GET /queue/stats", "/queue/stats")
    await call("GET /workers", "/workers")
    await call("GET /metrics", "/metrics")
    waiting = await call("GET /queue/oldest-waiting", "/queue/oldest-waiting")
    assert waiting["scraper"] is not None
    runs = await call("GET /apps/{app_id}/jobs", "/apps/com.plan.a/jobs?limit=5")
    assert len(runs) == 2 and runs[0]["status"] == "queued"  # the active run first
    page = await call("GET /dashboard", "/dashboard")
    assert "/dashboard/assets/app.js" in page
    await call("GET /dashboard/assets/{name}", "/dashboard/assets/app.js")

    # Events: a reconnect replays the history from shortly before its Last-Event-ID.
    resume = {"Last-Event-ID": str(ObjectId())}
    replayed = await driver.stream("GET /queue/events", "/queue/events", resume)
    assert replayed.count(b"event: change") > 10
    await driver.stream("GET /queue/events", "/queue/events?app_id=com.plan.a&stage=nlp", resume)
    await driver.stream("GET /queue/events", f"/queue/events?job_id={job}", resume)
    await driver.stream("GET /queue/events", "/queue/events", {})

    # Reports: today so far; the scenario's day seen from tomorrow (computed, then stored).
    await call("GET /reports/daily/{date}", "/reports/daily/today")
    reports = app.state.reports
    day = reports.today().isoformat()
    real_report_clock = reports._clock
    reports._clock = lambda: utcnow() + timedelta(days=1)
    try:
        computed = await call("GET /reports/daily/{date}", f"/reports/daily/{day}")
        assert computed["source"] == "computed" and computed["backlog"]["total"] > 0
        stored = await call("GET /reports/daily/{date}", f"/reports/daily/{day}")
        assert stored["source"] == "stored"
        await call("GET /reports/daily", "/reports/daily")
        await call("GET /reports/daily", f"/reports/daily?before={day}")
    finally:
        reports._clock = real_report_clock

    await call("DELETE /auth/keys/{key_id}", f"/auth/keys/{worker['key_id']}")

    # Recurring schedules
    daily = {"app_id": "com.plan.daily", "cron": "0 6 * * *", "timezone": "Europe/Berlin"}
    made = await call("POST /schedules", "/schedules", 201, json=daily)
    other = await call("POST /schedules", "/schedules", 201, json={**daily, "app_id": "com.plan.a"})
    schedule = f"/schedules/{made['schedule_id']}"
    await call("GET /schedules", "/schedules?limit=1")
    await call("GET /schedules", "/schedules?app_id=com.plan.daily")
    await call("GET /schedules/{schedule_id}", schedule)
    await call("PATCH /schedules/{schedule_id}", schedule, json={"cron": "0 7 * * *"})
    await call("PATCH /schedules/{schedule_id}", schedule, json={"priority": "high"})
    await call("POST /schedules/{schedule_id}/pause", f"{schedule}/pause")
    await call("POST /schedules/{schedule_id}/resume", f"{schedule}/resume")
    await call("GET /schedules/{schedule_id}", "/schedules/nope", 404, False)
    # Both come due: the sweep fires them (a new run; a skipped one, com.plan.a being active).
    schedules = app.state.schedules
    await schedules.schedules.update_many({}, {"$set": {"next_run_at": utcnow()}})
    before = len(driver.database.commands)
    driver.run.firings = await schedules.fire_due()
    driver.run.sweep = driver.database.commands[before:]
    await call("DELETE /schedules/{schedule_id}", f"/schedules/{other['schedule_id']}")

    # The reaper, an hour from now: every processing job's lease has run out.
    store = app.state.store
    before = len(driver.database.commands)
    real_clock = store._clock
    store._clock = lambda: utcnow() + timedelta(hours=1)
    try:
        assert await store.reap_expired()
    finally:
        store._clock = real_clock
    driver.run.reaper = driver.database.commands[before:]

    # Tomorrow: the jobs the reaper queued again are claimed; tomorrow's report so far measures
    # their waits from rows of today (so reads them).
    tomorrow = lambda: utcnow() + timedelta(days=1)  # noqa: E731
    store._clock = app.state.reports._clock = tomorrow
    try:
        late = {"stage": "scraper", "worker_id": "plan-late", "limit": 5}
        claimed = await call("POST /queue/poll", "/queue/poll", json=late)
        report = await call("GET /reports/daily/{date}", "/reports/daily/today")
        assert claimed and report["stages"]["scraper"]["wait"]["count"] == len(claimed)
    finally:
        store._clock = real_clock
        app.state.reports._clock = real_report_clock


def route_key(method: str, path: str) -> str:
    return f"{method} {path.replace(':str', '')}"


def app_routes(app: Any) -> set[str]:
    return {
        route_key(method, route.path)
        for route in app.routes
        if not route.path.startswith(NOT_ROUTES)
        for method in route.methods
        if method not in ("OPTIONS", "HEAD")
    }


def indexes_by_collection(models: dict[str, list[IndexModel]] | None = None) -> dict:
    models = models or declared(retention_days=30)
    return {name: [Index.from_model(m) for m in found] for name, found in models.items()}


def verdict_of(command: Command, indexes: dict[str, list[Index]]) -> list[Verdict]:
    available = indexes.get(command.collection, [])
    if command.method == "aggregate":
        return [plan_pipeline(command.pipeline, available)]
    if command.method == "bulk_write":
        return [plan(f, None, available) for f in command.filters]
    return [plan(command.filter, command.sort, available)]


def shapes_table(run: Run, indexes: dict[str, list[Index]]) -> tuple[list[str], list[str]]:
    """(lines of the table, the shapes no index serves)."""
    seen: dict[str, str] = {}
    unserved = []
    for command in run.queries():
        query = command.pipeline[0] if command.method == "aggregate" else command.filter
        if command.method == "bulk_write":
            query = command.filters[0]
        key = f"{command.collection}.{command.method} {shape(query)}"
        if command.sort:
            key += f" sort {command.sort}"
        if key in seen:
            continue
        verdicts = verdict_of(command, indexes)
        served = all(v.served for v in verdicts)
        seen[key] = "; ".join(v.how for v in verdicts)
        if not served:
            unserved.append(f"{key}: {seen[key]}")
    lines = [f"{key}\n    -> {how}" for key, how in sorted(seen.items())]
    return lines, unserved


@pytest.fixture
async def recorded(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    real_connect = service.app.connect
    holder: dict[str, RecordingDatabase] = {}

    async def recording_connect(given: Settings):
        connection = await real_connect(given)
        connection.database = holder["db"] = RecordingDatabase(connection.database)
        return connection

    monkeypatch.setattr(service.app, "connect", recording_connect)
    app = create_app(replace(settings, auth="required", admin_key=ADMIN_KEY))
    run = Run()
    async with AsyncTestClient(app=app) as http:
        driver = Driver(http, holder["db"], run)
        await drive_every_route(driver, app)
        yield run, app, holder["db"]


async def test_every_query_is_served_by_a_declared_index(recorded, backend, capsys):
    run, _, _ = recorded
    lines, unserved = shapes_table(run, indexes_by_collection())
    if backend == "embedded":
        with capsys.disabled():
            print(f"\n{len(lines)} distinct query shapes and the index that serves each:")
            print("\n".join(lines))
    assert unserved == [], "queries no index serves without a blocking sort:\n" + "\n".join(
        unserved
    )


async def test_every_route_keeps_to_its_round_trip_budget(recorded, backend, capsys):
    run, app, _ = recorded
    driven = {step.route for step in run.steps}
    assert app_routes(app) - driven == set(), "routes the query-plan scenario does not drive"
    assert driven - set(BUDGETS) == set(), "routes without a round-trip budget"
    over, worst = [], {}
    for step in run.steps:
        trips = round_trips(step.commands)
        if step.budget is None:
            continue
        worst[step.route] = max(worst.get(step.route, 0), trips)
        if trips > step.budget:
            methods = [f"{c.collection}.{c.method}" for c in step.commands]
            over.append(f"{step.route}: {trips} commands > {step.budget}: {methods}")
    lifecycle = _first_lifecycle(run)
    if backend == "embedded":
        with capsys.disabled():
            print("\nCommands per request (most seen on the success path):")
            for route in sorted(worst):
                print(f"  {worst[route]:>2}  {route}")
            print(f"  {lifecycle:>2}  a job's lifecycle (add, claim, finish, claim, complete)")
    sweep = 1 + sum(FIRING[f.result] for f in run.firings)
    if backend == "embedded":
        with capsys.disabled():
            print(f"  {round_trips(run.sweep):>2}  a schedule sweep firing {len(run.firings)}")
    assert over == []
    assert lifecycle <= LIFECYCLE_BUDGET
    assert sorted(f.result for f in run.firings) == ["queued", "queued_already"]
    assert round_trips(run.sweep) <= sweep


def _first_lifecycle(run: Run) -> int:
    """add + claim + update + claim + update of the scenario's first job: the job's own
    commands. A claiming worker's record is the worker's, not the job's: written at most every
    5 s per worker whatever it claims (tests/test_workers_api.py holds it to that), it is not
    counted here."""
    wanted = [
        "POST /queue/add",
        "POST /queue/poll",
        "POST /queue/{job_id}/update",
        "POST /queue/poll",
        "POST /queue/{job_id}/update",
    ]
    total, position = 0, 0
    for step in run.steps:
        if position < len(wanted) and step.route == wanted[position] and step.status < 300:
            if step.route == "POST /queue/add" and step.status != 201:
                continue
            total += round_trips([c for c in step.commands if c.collection != "workers"])
            position += 1
    assert position == len(wanted)
    return total


async def test_the_real_server_plans_every_query_without_sort_or_collscan(recorded, backend):
    if backend == "embedded":
        pytest.skip("the embedded store has no query planner: the rules above stand in for it")
    run, _, database = recorded
    problems = []
    for command in run.queries():
        explained = await database._database.command(_explain(command), check=True)
        stages = set(_stages(explained))
        if stages & {"SORT", "COLLSCAN"}:
            problems.append(f"{command.collection}.{command.method} {command.filter}: {stages}")
    assert problems == []


def _explain(command: Command) -> dict:
    collection = command.collection
    if command.method == "aggregate":
        inner = {"aggregate": collection, "pipeline": command.pipeline, "cursor": {}}
    elif command.method in ("find_one_and_update",):
        inner = {
            "findAndModify": collection,
            "query": command.filter,
            "update": command.update,
            **({"sort": dict(command.sort)} if command.sort else {}),
        }
    elif command.method == "count_documents":
        inner = {"count": collection, "query": command.filter}
    elif command.method == "bulk_write":
        inner = {"find": collection, "filter": command.filters[0]}
    elif command.method in ("update_one", "update_many", "replace_one"):
        inner = {"find": collection, "filter": command.filter}
    else:
        inner = {"find": collection, "filter": command.filter or {}}
        if command.sort:
            inner["sort"] = dict(command.sort)
    return {"explain": inner, "verbosity": "queryPlanner"}


def _stages(plan: Any):
    if isinstance(plan, dict):
        if isinstance(plan.get("stage"), str):
            yield plan["stage"]
        for value in plan.values():
            yield from _stages(value)
    elif isinstance(plan, list):
        for value in plan:
            yield from _stages(value)


# The rules themselves: they must catch what a real planner would sort in memory.

OLD_JOB_INDEXES = [  # main before this change (d63fd7e): claim_order had no _id
    Index(
        "claim_order",
        (("stage", 1), ("status", 1), ("priority", -1), ("requested_at", 1), ("available_at", 1)),
    ),
    Index("app_latest", (("app_id", 1), ("requested_at", -1))),
    Index("one_active_job_per_app", (("app_id", 1),), {"active": True}),
    Index("lease_expiry", (("status", 1), ("lease_expires_at", 1))),
    Index("active_jobs", (("active", 1), ("requested_at", 1)), {"active": True}),
    Index("finished_on", (("status", 1), ("finished_at", 1))),
]
CLAIM = {"stage": "scraper", "status": "queued", "available_at": {"$lte": "now"}}
CLAIM_SORT = [("priority", -1), ("requested_at", 1), ("_id", 1)]


async def test_the_old_indexes_would_sort_every_claim_in_memory(recorded, backend):
    """The recorded claim, checked against the indexes main declared before: a blocking sort
    (and so are the overview's active list, dead letters and the app's latest job)."""
    if backend != "embedded":
        pytest.skip("the rules need no server")
    run, _, _ = recorded
    old = {"jobs": OLD_JOB_INDEXES, "job_history": [Index("h", (("job_id", 1), ("version", 1)))]}
    claims = [
        c
        for c in run.queries()
        if c.method == "find_one_and_update" and c.sort and "_id" not in c.filter
    ]
    assert claims and not plan(claims[0].filter, claims[0].sort, old["jobs"]).served
    _, unserved = shapes_table(run, old)
    flagged = "\n".join(unserved)
    for sort_of in ("('priority', -1)", "('finished_at', -1)", "('active', -1)"):
        assert sort_of in flagged
    assert plan(claims[0].filter, claims[0].sort, indexes_by_collection()["jobs"]).served


def test_a_sort_is_served_only_by_keys_that_follow_the_equalities_in_order():
    index = Index("i", (("a", 1), ("b", -1), ("c", 1), ("_id", 1), ("r", 1)))
    assert plan({"a": 1}, [("b", -1), ("c", 1), ("_id", 1)], [index]).served
    assert plan({"a": 1}, [("b", 1), ("c", -1), ("_id", -1)], [index]).served  # reversed
    assert not plan({"a": 1}, [("b", -1), ("c", -1)], [index]).served  # mixed directions
    assert not plan({"a": 1}, [("c", 1)], [index]).served  # skips b
    assert plan({"a": 1, "b": 2}, [("c", 1)], [index]).served  # b bound to one value
    assert plan({"a": 1, "r": {"$lt": 3}}, [("b", -1)], [index]).served  # range after the sort
    assert not plan({"a": 1, "b": {"$gt": 2}}, [("c", 1)], [index]).served  # range before it
    assert not plan({"a": 1, "z": {"$gt": 2}}, None, [index]).served  # range not indexed
    assert not plan({"b": 1}, None, [index]).served  # no bounds on the first key
    assert not plan({}, [("a", 1)], [index]).served  # a whole-collection scan


def test_an_in_is_exploded_into_merged_scans_up_to_the_planner_limit():
    index = Index("i", (("a", 1), ("b", 1), ("s", 1), ("_id", 1)))
    sort = [("s", 1), ("_id", 1)]
    verdict = plan({"a": {"$in": [1, 2]}, "b": {"$in": [1, 2, 3]}}, sort, [index])
    assert verdict.served and "SORT_MERGE of 6 scans" in verdict.how
    assert not plan({"a": {"$in": list(range(201))}}, [("b", 1)], [index]).served
    assert not plan({"a": {"$in": [1, 2]}}, sort, [index]).served  # b is unbound between


def test_a_partial_index_serves_only_queries_that_imply_its_filter():
    index = Index("p", (("active", 1), ("t", 1)), {"active": True})
    assert plan({"active": True}, [("t", 1)], [index]).served
    assert not plan({"active": False}, [("t", 1)], [index]).served
    assert not plan({"active": {"$in": [True, False]}}, None, [index]).served


def test_an_aggregation_must_start_with_a_served_match():
    index = Index("i", (("a", 1),))
    assert plan_pipeline([{"$match": {"a": 1}}, {"$group": {"_id": None}}], [index]).served
    assert not plan_pipeline([{"$group": {"_id": "$a"}}], [index]).served
    assert not plan_pipeline([{"$match": {"b": 1}}], [index]).served
