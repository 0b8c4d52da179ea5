"""GET /queue/events: state changes and progress as Server-Sent Events, resumable with
Last-Event-ID from what the history holds, filtered, kept alive, never carrying a lease token;
published in process on the embedded store, followed with change streams on a replica set."""

import asyncio
import time
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from bson import ObjectId
from pymongo.errors import ExecutionTimeout, OperationFailure, PyMongoError

from service import events as events_module
from service.app import create_app
from service.events import (
    CHANGE_STREAMS,
    IN_PROCESS,
    ChangeStreamRelay,
    EventSubscriber,
    change_event,
)
from service.settings import Settings
from tests.conftest import REAL_MONGODB_URI
from tests.helpers import JSON
from tests.live import next_event, serving, sse, until_live

ADMIN_KEY = "events-admin-" + "k" * 32


@asynccontextmanager
async def service(settings: Settings, **overrides: Any):
    """The app on loopback, and an HTTP client of it (keys off unless asked for)."""
    app = create_app(replace(settings, **overrides))
    async with serving(app) as served, httpx.AsyncClient(base_url=served.url, timeout=10) as http:
        yield http, served, app


@asynccontextmanager
async def stream(http: httpx.AsyncClient, params: dict | None = None, headers: dict | None = None):
    async with http.stream("GET", "/queue/events", params=params, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield sse(response)


async def add(http: httpx.AsyncClient, app_id: str) -> str:
    answer = await http.post("/queue/add", json={"app_id": app_id})
    assert answer.status_code == 201, answer.text
    return answer.json()["job_id"]


async def claim(http: httpx.AsyncClient, stage: str = "scraper") -> dict:
    answer = await http.post("/queue/poll", json={"stage": stage, "worker_id": "w1"})
    assert answer.status_code == 200, answer.text
    return answer.json()[0]


async def test_each_state_change_and_progress_reaches_an_open_stream(settings):
    async with service(settings) as (http, _, app), stream(http) as events:
        hello = await next_event(events, "comment")
        assert hello.retry and any("events" in c for c in hello.comments)
        assert await until_live(events) == []
        job_id = await add(http, "com.events.a")
        created = await next_event(events, "change")
        body = created.json()
        assert created.id == body["id"] and ObjectId.is_valid(created.id)
        assert {k: body[k] for k in ("job_id", "app_id", "stage", "status", "event")} == {
            "job_id": job_id,
            "app_id": "com.events.a",
            "stage": "scraper",
            "status": "queued",
            "event": "created",
        }
        assert body["timestamp"].endswith("Z") and body["worker_id"] is None

        claimed = await claim(http)
        event = (await next_event(events, "change")).json()
        assert (event["event"], event["status"]) == ("claimed", "processing")
        assert event["worker_id"] == "w1"
        assert "lease_token" not in event and claimed["lease_token"] not in str(event)

        beat = {"lease_token": claimed["lease_token"], "progress": 42, "message": "page 2"}
        assert (await http.post(f"/queue/{job_id}/heartbeat", json=beat)).status_code == 200
        progress = await next_event(events, "progress")
        assert progress.id is None  # progress writes no history: nothing to resume from
        assert {k: progress.json()[k] for k in ("job_id", "progress", "message", "status")} == {
            "job_id": job_id,
            "progress": 42,
            "message": "page 2",
            "status": "processing",
        }
        assert claimed["lease_token"] not in progress.data
        assert app.state.events.source == (IN_PROCESS if settings.embedded else CHANGE_STREAMS)


async def test_filters_let_through_only_the_app_job_or_stage_asked_for(settings):
    async with service(settings) as (http, _, _):
        async with stream(http, {"app_id": "com.events.b"}) as by_app:
            await until_live(by_app)
            await add(http, "com.events.other")
            wanted = await add(http, "com.events.b")
            event = (await next_event(by_app, "change")).json()
            assert (event["app_id"], event["job_id"]) == ("com.events.b", wanted)
        async with stream(http, {"stage": "nlp"}) as by_stage:
            await until_live(by_stage)
            claimed = await claim(http)
            to_nlp = {"stage": "nlp", "status": "queued", "lease_token": claimed["lease_token"]}
            answer = await http.post(f"/queue/{claimed['job_id']}/update", json=to_nlp)
            assert answer.status_code == 200, answer.text
            event = (await next_event(by_stage, "change")).json()
            assert (event["stage"], event["event"]) == ("nlp", "stage_finished")
        async with stream(http, {"job_id": wanted}) as by_job:
            await until_live(by_job)
            await add(http, "com.events.c")
            assert (await http.post(f"/queue/{wanted}/cancel", headers=JSON)).status_code == 200
            event = (await next_event(by_job, "change")).json()
            assert (event["job_id"], event["event"]) == (wanted, "cancelled")


async def test_a_reconnect_with_last_event_id_misses_nothing_history_holds(settings):
    async with service(settings) as (http, _, _):
        async with stream(http) as first:
            await until_live(first)
            before = await add(http, "com.events.before")
            await next_event(first, "change")
            await add(http, "com.events.last-seen")
            last_seen = await next_event(first, "change")
        # While nobody listens: a new job, and the first one claimed and failed.
        missed = await add(http, "com.events.missed")
        claimed = await claim(http)
        assert claimed["job_id"] == before
        failed = {"stage": "scraper", "status": "error", "lease_token": claimed["lease_token"]}
        assert (await http.post(f"/queue/{before}/update", json=failed)).status_code == 200

        async with stream(http, headers={"Last-Event-ID": last_seen.id}) as again:
            replayed = [event.json() for event in await until_live(again)]
            seen = [(e["job_id"], e["event"]) for e in replayed]
            # The events after the last one seen, in order; the rows a little before it are
            # sent again (they may have been committed after it), never the last one itself.
            assert seen[-3:] == [
                (missed, "created"),
                (before, "claimed"),
                (before, "retry_scheduled"),
            ]
            assert last_seen.id not in {e["id"] for e in replayed}
            assert seen[:-3] == [(before, "created")]
            live = await add(http, "com.events.live")
            assert (await next_event(again, "change")).json()["job_id"] == live

        async with stream(http, {"job_id": before}, {"Last-Event-ID": last_seen.id}) as one_job:
            replayed = [event.json()["event"] for event in await until_live(one_job)]
            assert replayed == ["created", "claimed", "retry_scheduled"]


async def test_a_client_that_missed_too_much_is_told_to_read_the_state_again(settings, monkeypatch):
    monkeypatch.setattr(events_module, "MAX_REPLAY", 4)
    async with service(settings) as (http, _, _):
        jobs = [await add(http, f"com.events.r{n}") for n in range(4)]
        ever = "0" * 24  # older than every row: the whole history (a hostile or ancient id)
        # Four rows written since: within the bound, replayed as before (through the filter).
        async with stream(http, {"app_id": "com.events.r0"}, {"Last-Event-ID": ever}) as few:
            assert [event.json()["job_id"] for event in await until_live(few)] == jobs[:1]
        await add(http, "com.events.r4")
        # Five: too many to read, for every client, however few of them its filter lets through.
        for wanted in ({}, {"app_id": "com.events.r0"}, {"stage": "nlp"}):
            async with stream(http, wanted, {"Last-Event-ID": ever}) as behind:
                sent = await until_live(behind)
                assert [event.kind for event in sent] == ["reset"]
                assert sent[0].id is None and "read the state again" in sent[0].json()["reason"]
        async with stream(http, headers={"Last-Event-ID": ever}) as behind:
            await until_live(behind)
            live = await add(http, "com.events.live")
            assert (await next_event(behind, "change")).json()["job_id"] == live


async def test_a_client_that_hangs_up_leaves_no_subscriber_behind(settings):
    async with service(settings) as (http, _, app):
        channels = app.state.events._channels
        for _ in range(3):
            async with stream(http) as events:
                await until_live(events)
                assert len(channels._channels[events_module.CHANNEL]) == 1
        async with asyncio.timeout(5):
            while channels._channels[events_module.CHANNEL]:
                await asyncio.sleep(0.02)


async def test_keep_alive_comments_flow_while_nothing_happens(settings):
    async with service(settings, events_keepalive=0.2) as (http, _, _), stream(http) as events:
        await until_live(events)
        began = time.monotonic()
        comment = await next_event(events, "comment", timeout=3)
        assert comment.comments == ["keep-alive"]
        assert time.monotonic() - began < 2


async def test_a_bad_last_event_id_is_a_422_naming_the_header(settings):
    async with service(settings) as (http, _, _):
        answer = await http.get("/queue/events", headers={"Last-Event-ID": "nope"})
        assert answer.status_code == 422
        body = answer.json()
        assert body["details"][0]["field"] == "Last-Event-ID" and "error" in body


async def test_the_stream_needs_a_reader_key_sent_as_a_header():
    settings = Settings(auth="required", admin_key=ADMIN_KEY)
    async with service(settings) as (http, _, _):
        assert (await http.get("/queue/events")).status_code == 401
        assert (await http.get("/queue/events", params={"api_key": ADMIN_KEY})).status_code == 401
        created = await http.post(
            "/auth/keys",
            json={"name": "dashboard", "role": "reader"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        reader = {"Authorization": f"Bearer {created.json()['key']}"}
        async with stream(http, headers=reader) as events:
            assert await until_live(events) == []


async def test_a_revoked_key_loses_its_open_stream():
    settings = Settings(auth="required", admin_key=ADMIN_KEY, events_keepalive=0.2)
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with service(settings) as (http, _, _):
        created = (
            await http.post("/auth/keys", json={"name": "tab", "role": "reader"}, headers=admin)
        ).json()
        async with stream(http, headers={"Authorization": f"Bearer {created['key']}"}) as events:
            await until_live(events)
            revoked = await http.delete(f"/auth/keys/{created['key_id']}", headers=admin)
            assert revoked.status_code == 200
            added = await http.post("/queue/add", json={"app_id": "com.revoked"}, headers=admin)
            assert added.status_code == 201
            last = await next_event(events, timeout=5)
            while last.kind == "comment" and last.comments == ["keep-alive"]:  # a slow machine
                last = await next_event(events, timeout=5)
            assert last.kind == "comment" and "no longer valid" in last.comments[0]
            with pytest.raises(AssertionError, match="ended"):
                await next_event(events, timeout=5)


async def test_stopping_the_service_ends_open_streams_at_once():
    async with service(Settings()) as (http, served, _), stream(http) as events:
        await until_live(events)
        began = time.monotonic()
        served.server.should_exit = True
        last = await next_event(events, "comment", timeout=5)
        assert "stopping" in last.comments[0]
        with pytest.raises(AssertionError, match="ended"):
            await next_event(events, timeout=5)
        assert time.monotonic() - began < 3  # not the 5 s graceful timeout


def test_a_client_too_far_behind_is_cut_off_so_that_it_replays(monkeypatch):
    monkeypatch.setattr(events_module, "MAX_BACKLOG", 2)
    subscriber = EventSubscriber.__new__(EventSubscriber)
    EventSubscriber.__init__(subscriber, plugin=_FakePlugin())
    assert subscriber.put_nowait(b"1") and subscriber.put_nowait(b"2")
    assert not subscriber.put_nowait(b"3")
    assert subscriber.overflowed
    assert subscriber.put_nowait(None)  # the end-of-stream marker always fits


class _FakePlugin:
    _backend = None


# Change streams: the relay, with a stand-in for PyMongo's change streams (no server here)


class FakeChangeStream:
    """As PyMongo's: each try_next is one getMore, None when nothing came. A step is a change,
    a string (a quiet batch that moves the resume token on, as a post-batch token does) or an
    error to raise; then `fail`, if any, or quiet batches."""

    def __init__(self, steps: list, fail: Exception | None) -> None:
        self._steps, self._fail = list(steps), fail
        self.resume_token = None
        self.alive = True

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False

    async def try_next(self):
        if self._steps:
            step = self._steps.pop(0)
            if isinstance(step, Exception):
                raise step
            if isinstance(step, str):
                self.resume_token = {"_data": step}
                return None
            self.resume_token = step["_id"]
            return step
        if self._fail is not None:
            raise self._fail
        await asyncio.sleep(0.01)
        return None


class FakeCollection:
    def __init__(self, rounds: list[tuple[list, Exception | None]]) -> None:
        self.rounds = list(rounds)
        self.watched: list[dict] = []

    async def watch(self, pipeline, **options):
        self.watched.append({"pipeline": pipeline, **options})
        changes, fail = self.rounds.pop(0) if self.rounds else ([], None)
        return FakeChangeStream(changes, fail)


def history_change(token: str, app_id: str) -> dict:
    row = {
        "_id": ObjectId(),
        "job_id": f"job-{app_id}",
        "app_id": app_id,
        "version": 1,
        "timestamp": ObjectId().generation_time,
        "stage": "scraper",
        "status": "queued",
        "worker_id": None,
        "event": "created",
        "error_message": None,
        "lease_token": None,
    }
    return {"_id": {"_data": token}, "operationType": "insert", "fullDocument": row}


async def test_the_relay_publishes_history_inserts_and_heartbeats_and_resumes_after_a_failure():
    history = FakeCollection(
        [
            ([history_change("t1", "a"), history_change("t2", "b")], PyMongoError("stepdown")),
            ([history_change("t3", "c")], OperationFailure("gone", code=286)),
            ([history_change("t4", "d")], None),
        ]
    )
    job = {"_id": "j1", "app_id": "x", "stage": "nlp", "status": "processing", "progress": 50}
    beat = {"_id": {"_data": "h1"}, "operationType": "update", "fullDocument": job}
    gone = {"_id": {"_data": "h2"}, "operationType": "update", "fullDocument": None}
    jobs = FakeCollection([([beat, gone], None)])
    store = type("Store", (), {"history": history, "jobs": jobs})()
    changes, progress = [], []
    relay = ChangeStreamRelay(
        store, lambda _job, row: changes.append(row), progress.append, retry_seconds=0.01
    )
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(5):
            while len(changes) < 4 or not progress:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [row["app_id"] for row in changes] == ["a", "b", "c", "d"]
    assert [change_event(row)["event"] for row in changes] == ["created"] * 4
    # After a failure it resumes after the last change delivered; after a lost resume point,
    # from now.
    assert [w["resume_after"] for w in history.watched[:3]] == [None, {"_data": "t2"}, None]
    assert history.watched[0]["pipeline"] == ChangeStreamRelay.HISTORY
    assert jobs.watched[0]["full_document"] == "updateLookup"
    assert progress == [job]


async def test_the_relay_rides_out_quiet_spells_and_resumes_from_where_it_got():
    """On a real server a quiet stream outlasts the client's timeoutMS, and its resume token
    moves on with empty batches: neither may cost a change."""
    history = FakeCollection(
        [
            (["pb1", ExecutionTimeout("timed out", 50), "pb2"], PyMongoError("stepdown")),
            ([history_change("t1", "a")], None),
        ]
    )
    store = type("Store", (), {"history": history, "jobs": FakeCollection([])})()
    changes = []
    relay = ChangeStreamRelay(
        store, lambda _job, row: changes.append(row), lambda _job: None, retry_seconds=0.01
    )
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(5):
            while not changes:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [row["app_id"] for row in changes] == ["a"]
    # the timeout did not reopen the stream; the failure reopened it after the quiet batches
    assert [w["resume_after"] for w in history.watched] == [None, {"_data": "pb2"}]


async def test_a_replica_set_carries_every_change_through_change_streams(settings):
    """Two service instances on one replica set: a change made through one reaches a stream
    opened on the other."""
    if settings.embedded:
        pytest.skip("change streams need a replica set (TEST_MONGODB_URI)")
    from pymongo import MongoClient

    with MongoClient(REAL_MONGODB_URI) as client:
        if "setName" not in client.admin.command("hello"):
            pytest.skip("TEST_MONGODB_URI is a standalone server: no change streams")
    async with service(settings) as (first, _, _), service(settings) as (second, _, app):
        assert app.state.events.source == CHANGE_STREAMS
        async with stream(second) as events:
            await until_live(events)
            await asyncio.sleep(0.5)  # the change streams open
            job_id = await add(first, "com.events.replicas")
            event = (await next_event(events, "change", timeout=10)).json()
            assert (event["job_id"], event["event"]) == (job_id, "created")
