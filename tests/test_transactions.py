"""On a replica set, each state change and its job_history row are written in one transaction.

mongomock has no sessions, so these tests give JobStore a fake client whose sessions record
their transactions, and wrap the embedded store's collections so that every write records the
`session` it was given (and passes session=None on to mongomock). On a standalone server or the
embedded store (`transactions=False`) the same writes go in sequence with session=None.
With TEST_MONGODB_URI pointing at a replica set, the last test checks the same on the wire.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from mongomock_motor import AsyncMongoMockClient
from pymongo import ReadPreference
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import OperationFailure

import service.app
import service.db
from service.db import Connection, StoreUnavailable, connect
from service.domain import DONE_COMPLETED, NLP_QUEUED, SCRAPER_ERROR, Stage
from service.settings import Settings
from service.store import JobStore
from tests.conftest import REAL_MONGODB_URI
from tests.helpers import Clock
from tests.recording import NOT_GIVEN, WRITES, Command, RecordingDatabase


class FakeSession:
    """Stands in for PyMongo's AsyncClientSession: `async with`, then `await with_transaction`."""

    def __init__(self) -> None:
        self.transactions = 0
        self.in_transaction = False
        self.ended = False

    async def __aenter__(self) -> "FakeSession":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.ended = True

    async def with_transaction(self, callback: Any, **options: Any) -> Any:
        self.options = options
        self.transactions += 1
        self.in_transaction = True
        try:
            return await callback(self)
        finally:
            self.in_transaction = False


class FakeClient:
    """AsyncMongoClient.start_session() is a plain method returning the session."""

    def __init__(self) -> None:
        self.sessions: list[FakeSession] = []

    def start_session(self) -> FakeSession:
        session = FakeSession()
        self.sessions.append(session)
        return session

    async def close(self) -> None:
        pass


@dataclass
class Step:
    name: str
    result: Any
    writes: list[Command]
    sessions: list[FakeSession]


async def run_every_kind_of_change(store: JobStore, client: FakeClient, clock: Clock) -> list[Step]:
    """Add, claim, hand over, complete, fail, heartbeat and reap; the writes of each step."""
    database: RecordingDatabase = store._database
    steps: list[Step] = []

    async def step(name: str, call: Any) -> Any:
        before, sessions_before = len(database.commands), len(client.sessions)
        result = await call
        writes = [c for c in database.commands[before:] if c.method in WRITES]
        sessions = client.sessions[sessions_before:]
        steps.append(Step(name, result, writes, sessions))
        return result

    _, job = await step("add", store.add("com.spotify.music", priority=5, params={}, force=False))
    claimed = await step("claim_next", store.claim_next(Stage.SCRAPER, "scraper-1", 60))
    token = claimed["lease_token"]
    await step("heartbeat", store.heartbeat(job["_id"], token, progress=50, message=None))
    await step("stage_finished", store.transition(job["_id"], NLP_QUEUED, token=token))
    claimed = await step("claim", store.claim(job["_id"], Stage.NLP, "nlp-1", 60))
    await step(
        "completed", store.transition(job["_id"], DONE_COMPLETED, token=claimed["lease_token"])
    )

    _, failing = await step("add", store.add("com.example.bad", priority=5, params={}, force=False))
    claimed = await step("claim_next", store.claim_next(Stage.SCRAPER, "scraper-1", 60))
    await step(
        "failed",
        store.transition(
            failing["_id"], SCRAPER_ERROR, token=claimed["lease_token"], error_message="boom"
        ),
    )

    await step("add", store.add("com.example.dies", priority=5, params={}, force=False))
    await step("claim_next", store.claim_next(Stage.SCRAPER, "scraper-2", 10))
    clock.now += timedelta(seconds=11)
    reaped = await step("reap_expired", store.reap_expired())
    assert len(reaped) == 1
    await step("claim_next (nothing claimable)", store.claim_next(Stage.NLP, "nlp-1", 60))
    return steps


# Steps that change one job's state: each writes exactly one history row.
STATE_CHANGES = {"add", "claim_next", "claim", "stage_finished", "completed", "failed"}


def make_store(transactions: bool) -> tuple[JobStore, FakeClient, Clock]:
    database = RecordingDatabase(
        AsyncMongoMockClient()[f"tx_{uuid.uuid4().hex[:8]}"], strip_sessions=True
    )
    client, clock = FakeClient(), Clock()
    store = JobStore(database, client=client, transactions=transactions, clock=clock)
    return store, client, clock


def kinds(writes: list[Command]) -> list[tuple[str, str]]:
    return [(w.collection, w.method) for w in writes]


def expected_rows(steps: list[Step]) -> int:
    """One history row per state change, the reaper's included."""
    reaped = sum(len(s.result) for s in steps if s.name == "reap_expired")
    return sum(s.name in STATE_CHANGES for s in steps) + reaped


def assert_one_change_per_transaction(step: Step) -> None:
    """Each session of the step ran one transaction holding the job's write and at most one
    history row after it; every write of the step was made inside one of them."""
    for write in step.writes:
        assert write.session in step.sessions and write.in_transaction, (step.name, write)
    for session in step.sessions:
        assert session.transactions == 1 and session.ended, step.name
        writes = kinds(w for w in step.writes if w.session is session)
        assert writes and writes[0][0] == "jobs", (step.name, writes)
        assert writes.count(("job_history", "insert_one")) <= 1, (step.name, writes)
        if ("job_history", "insert_one") in writes:
            assert writes[-1] == ("job_history", "insert_one"), (step.name, writes)


async def test_with_transactions_each_change_and_its_history_row_share_one_transaction():
    store, client, clock = make_store(transactions=True)
    await store.ensure_indexes()
    steps = await run_every_kind_of_change(store, client, clock)

    for step in steps:
        if step.name == "heartbeat":
            # Not a state change: extends the lease with one write, no transaction, no history.
            assert kinds(step.writes) == [("jobs", "find_one_and_update")]
            assert step.sessions == [] and step.writes[0].session is NOT_GIVEN
            continue
        assert_one_change_per_transaction(step)
        history = [w for w in step.writes if w.collection == "job_history"]
        if step.name in STATE_CHANGES:
            jobs_write = "insert_one" if step.name == "add" else "find_one_and_update"
            assert kinds(step.writes) == [("jobs", jobs_write), ("job_history", "insert_one")]
            assert len(step.sessions) == 1, step
        elif step.name == "reap_expired":
            assert len(history) == len(step.result) == 1, step
        else:  # a claim that finds nothing still asks inside a transaction, and writes no row
            assert kinds(step.writes) == [("jobs", "find_one_and_update")] and history == []

    # Every history row in the run was written inside a transaction, and all of them are there.
    history_writes = [w for s in steps for w in s.writes if w.collection == "job_history"]
    assert all(isinstance(w.session, FakeSession) and w.in_transaction for w in history_writes)
    assert await store.history.count_documents({}) == len(history_writes) == expected_rows(steps)


async def test_without_transactions_the_writes_go_in_sequence_with_no_session():
    store, client, clock = make_store(transactions=False)
    await store.ensure_indexes()
    steps = await run_every_kind_of_change(store, client, clock)

    assert client.sessions == []
    for step in steps:
        if step.name in STATE_CHANGES:
            jobs_write = "insert_one" if step.name == "add" else "find_one_and_update"
            assert kinds(step.writes) == [("jobs", jobs_write), ("job_history", "insert_one")]
        if step.name != "heartbeat":
            assert step.writes and all(w.session is None for w in step.writes), step
    assert await store.history.count_documents({}) == expected_rows(steps)


class FakeAdmin:
    def __init__(self, hello: dict) -> None:
        self.hello = hello

    async def command(self, name: str) -> dict:
        assert name == "hello"
        return self.hello


def fake_async_mongo_client(hello: dict, *, load_balanced: bool = False) -> Any:
    class FakeAsyncMongoClient(FakeClient):
        def __init__(self, uri: str, **options: Any) -> None:
            super().__init__()
            self.admin = FakeAdmin(hello)
            self.options = SimpleNamespace(load_balanced=load_balanced)
            self.given = options

        def __getitem__(self, name: str) -> Any:
            return AsyncMongoMockClient()[name]

    return FakeAsyncMongoClient


@pytest.mark.parametrize(
    ("hello", "load_balanced", "topology", "transactions"),
    [
        ({"isWritablePrimary": True, "setName": "rs0"}, False, "replica set", True),
        ({"isWritablePrimary": True, "msg": "isdbgrid"}, False, "sharded cluster", True),
        ({"isWritablePrimary": True, "serviceId": "x"}, True, "load balancer", True),
        ({"isWritablePrimary": True}, False, "standalone", False),
    ],
)
async def test_connect_uses_transactions_wherever_the_server_has_them(
    monkeypatch, hello, load_balanced, topology, transactions
):
    fake = fake_async_mongo_client(hello, load_balanced=load_balanced)
    monkeypatch.setattr(service.db, "AsyncMongoClient", fake)
    conn = await connect(Settings(mongodb_uri="mongodb://db.invalid:27017", db_timeout=7))
    assert (conn.topology, conn.transactions, conn.embedded) == (topology, transactions, False)
    assert conn.client.given["timeoutMS"] == 7000


async def test_an_unreachable_server_fails_start_up_in_one_line(monkeypatch):
    monkeypatch.setattr(service.db, "SERVER_SELECTION_SECONDS", 0.3)
    with pytest.raises(StoreUnavailable) as refused:
        await connect(Settings(mongodb_uri="mongodb://user:secret@127.0.0.1:1/?retryWrites=true"))
    message = str(refused.value)
    assert message.startswith("Cannot reach MongoDB at 127.0.0.1:1 within 0.3 s")
    assert "check MONGODB_URI" in message and "\n" not in message and "secret" not in message


@pytest.mark.parametrize("uri", ["127.0.0.1:27017", "http://db:27017", "mongodb://"])
async def test_a_connection_string_that_is_not_one_fails_start_up_in_one_line(uri):
    with pytest.raises(StoreUnavailable) as refused:
        await connect(Settings(mongodb_uri=uri))
    message = str(refused.value)
    assert message.startswith("MONGODB_URI is not a usable MongoDB connection string")
    assert "\n" not in message


class TransientOnce(AsyncClientSession):
    """PyMongo's own with_transaction (its retry loop) over a session that talks to no server:
    starting, committing and aborting are recorded, and the first operation of the first
    transaction fails with a TransientTransactionError, as a failover or a write conflict
    does on a replica set."""

    def __init__(self) -> None:  # no server session: only the transaction bookkeeping
        self.started: list[dict] = []
        self.committed = 0
        self.aborted = 0
        self._active = False

    @property
    def in_transaction(self) -> bool:
        return self._active

    async def start_transaction(self, read_concern, write_concern, read_preference, *_) -> None:
        self.started.append(
            {
                "read_concern": read_concern,
                "write_concern": write_concern,
                "read_preference": read_preference,
            }
        )
        self._active = True

    async def commit_transaction(self) -> None:
        self.committed += 1
        self._active = False

    async def abort_transaction(self) -> None:
        self.aborted += 1
        self._active = False

    async def __aenter__(self) -> "TransientOnce":
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass


async def test_a_transient_transaction_error_is_retried_with_explicit_options():
    session = TransientOnce()
    client = SimpleNamespace(start_session=lambda: session)
    database = RecordingDatabase(AsyncMongoMockClient()["tx_retry"], strip_sessions=True)
    store = JobStore(database, client=client, transactions=True, timeout_seconds=5)
    await store.ensure_indexes()
    original = database.get_collection

    def failing_once(name: str, **options: Any) -> Any:
        collection = original(name, **options)
        if name != "jobs":
            return collection
        insert = collection.insert_one

        async def insert_one(*args: Any, **kwargs: Any) -> Any:
            if len(session.started) == 1:
                error = OperationFailure("WriteConflict", 112)
                error._add_error_label("TransientTransactionError")
                raise error
            return await insert(*args, **kwargs)

        collection.insert_one = insert_one
        return collection

    database.get_collection = failing_once
    store = JobStore(database, client=client, transactions=True, timeout_seconds=5)
    outcome, job = await store.add("com.spotify.music", priority=5, params={}, force=False)

    assert outcome == "created"
    assert (len(session.started), session.aborted, session.committed) == (2, 1, 1)
    assert await store.jobs.count_documents({}) == 1
    assert await store.history.count_documents({"job_id": job["_id"]}) == 1
    for options in session.started:
        assert options["read_concern"].level == "majority"
        assert options["write_concern"].document == {"w": "majority"}
        assert options["read_preference"] == ReadPreference.PRIMARY


async def test_the_collections_decide_on_the_primary_and_a_majority_acknowledges():
    store = JobStore(AsyncMongoMockClient()["options"])
    for collection in (store.jobs, store.history):
        assert collection.read_preference == ReadPreference.PRIMARY
        assert collection.write_concern.document == {"w": "majority"}


async def test_the_service_on_a_replica_set_writes_each_change_in_a_transaction(monkeypatch):
    """create_app hands connect()'s replica_set to the store: API calls run in transactions."""
    database = RecordingDatabase(AsyncMongoMockClient()["tx_app"], strip_sessions=True)
    client = FakeClient()

    async def fake_connect(settings: Settings) -> Connection:
        return Connection(client, database, embedded=False, transactions=True)

    monkeypatch.setattr(service.app, "connect", fake_connect)
    app = service.app.create_app(Settings(mongodb_uri="mongodb://db.invalid:27017", auth="off"))
    async with AsyncTestClient(app=app) as http:
        added = await http.post("/queue/add", json={"app_id": "com.spotify.music"})
        assert added.status_code == 201, added.text
        claimed = await http.post("/queue/poll", json={"stage": "scraper", "worker_id": "w1"})
        assert claimed.status_code in (200, 201) and len(claimed.json()) == 1, claimed.text

    writes = [c for c in database.commands if c.method in WRITES]
    history_writes = [w for w in writes if w.collection == "job_history"]
    assert len(history_writes) == 2 and len(client.sessions) >= 2
    assert all(w.in_transaction and isinstance(w.session, FakeSession) for w in history_writes)
    job_writes = [w for w in writes if w.collection == "jobs"]
    assert job_writes and all(w.in_transaction for w in job_writes)


async def test_on_a_real_replica_set_the_writes_carry_a_transaction():
    """With TEST_MONGODB_URI: every write of a state change is sent inside a transaction."""
    if not REAL_MONGODB_URI:
        pytest.skip("TEST_MONGODB_URI is not set: no real MongoDB server to test against")
    from pymongo import AsyncMongoClient, monitoring

    class Commands(monitoring.CommandListener):
        def __init__(self) -> None:
            self.commands: list[dict] = []

        def started(self, event: monitoring.CommandStartedEvent) -> None:
            self.commands.append(dict(event.command))

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            pass

    listener = Commands()
    commands = listener.commands
    client = AsyncMongoClient(REAL_MONGODB_URI, tz_aware=True, event_listeners=[listener])
    name = f"review_queue_test_{uuid.uuid4().hex[:12]}"
    try:
        if "setName" not in await client.admin.command("hello"):
            pytest.skip("TEST_MONGODB_URI is a standalone server: transactions need a replica set")
        store = JobStore(client[name], client=client, transactions=True)
        await store.ensure_indexes()
        commands.clear()
        _, job = await store.add("com.spotify.music", priority=5, params={}, force=False)
        claimed = await store.claim_next(Stage.SCRAPER, "w1", 60)
        await store.transition(job["_id"], NLP_QUEUED, token=claimed["lease_token"])
    finally:
        await client.drop_database(name)
        await client.close()

    writes = [c for c in commands if ("insert" in c or "findAndModify" in c)]
    assert len(writes) == 6, writes
    assert all("txnNumber" in c and c.get("autocommit") is False for c in writes), writes
    assert sum("commitTransaction" in c for c in commands) == 3
