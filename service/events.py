"""Live events: every state change (a `job_history` row) and every heartbeat's progress, for
`GET /queue/events` (Server-Sent Events).

Where the events come from:

- On a replica set (or a sharded cluster, or behind a load balancer): MongoDB change streams,
  one on `job_history` inserts (every state change, whichever replica wrote it) and one on the
  heartbeats written to `jobs`. Every replica's streams carry every change.
- On a standalone server or the embedded store (no change streams): the store's listeners
  (`JobStore.on_change`, `on_progress`) in this process. Only this process's changes are seen.

Either way they are published on one Litestar channel (in memory), and each open stream
subscribes to it. A change event's `id` is its history row's `_id`: a client that reconnects
with `Last-Event-ID` is sent what `job_history` holds from a little before that row on (see
`REPLAY_OVERLAP`), then the live events. Progress events write no history, have no `id`, and
are not replayed.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
import msgspec
from bson import ObjectId
from bson.errors import InvalidId
from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.response import ServerSentEventMessage
from pymongo.errors import OperationFailure, PyMongoError

from service.clock import iso
from service.db import resolve
from service.domain import InvalidField, Status
from service.schemas import history_row
from service.store import Job, JobStore

log = logging.getLogger(__name__)

CHANNEL = "queue-events"
# A reconnect replays from this long before the row its Last-Event-ID names: rows are not
# always committed in the order of their ids (concurrent transactions, several replicas, their
# clocks), and one committed late would otherwise be missed. Events may so arrive twice; each
# change event's id is unique, so a client drops the ones it has.
REPLAY_OVERLAP = timedelta(seconds=10)
REPLAY_PAGE = 500  # history rows per replay query
# A client further behind than this many history rows is sent a `reset` event instead (read
# the state again), so a reconnect never reads the whole history (a Last-Event-ID of all
# zeros, an old tab), however narrow its filters.
MAX_REPLAY = 2000
MAX_BACKLOG = 2000  # events waiting for a slow client before its stream is ended
RETRY_MILLISECONDS = 2000  # how long a client waits before it reconnects
IN_PROCESS = "in process"
CHANGE_STREAMS = "change streams"


def change_event(row: dict[str, Any]) -> dict[str, Any]:
    """A history row as GET /queue/jobs/{id}/history shows it (never its lease token), with
    its id and version."""
    shown = msgspec.structs.asdict(history_row(row))
    return {"id": str(row["_id"]), **shown, "version": row.get("version")}


def reset_event(after: ObjectId) -> dict[str, Any]:
    """Sent instead of the replay when more than MAX_REPLAY changes were written since."""
    return {
        "after": str(after),
        "reason": f"More than {MAX_REPLAY} changes since Last-Event-ID: read the state again",
    }


def progress_event(job: Job) -> dict[str, Any]:
    """A heartbeat's progress as an event."""
    return {
        "job_id": job["_id"],
        "app_id": job["app_id"],
        "stage": job["stage"],
        "status": job["status"],
        "worker_id": job.get("worker_id"),
        "progress": job.get("progress"),
        "message": job.get("progress_message"),
        "timestamp": iso(job.get("heartbeat_at") or job.get("updated_at")),
        "lease_expires_at": iso(job.get("lease_expires_at")),
    }


def parse_event_id(value: str | None) -> ObjectId | None:
    """A Last-Event-ID as the history row id it names; a 422 naming the header otherwise."""
    if value is None or not value.strip():
        return None
    try:
        return ObjectId(value.strip())
    except (InvalidId, TypeError):
        raise InvalidField(
            "Last-Event-ID", "Not an event id this stream gave out (24 hexadecimal digits)"
        ) from None


@dataclass(frozen=True)
class EventFilter:
    app_id: str | None = None
    job_id: str | None = None
    stage: str | None = None

    def matches(self, event: dict[str, Any]) -> bool:
        return (
            (self.app_id is None or event.get("app_id") == self.app_id)
            and (self.job_id is None or event.get("job_id") == self.job_id)
            and (self.stage is None or event.get("stage") == self.stage)
        )


class EventSubscriber(Subscriber):
    """A channel subscriber that stops taking events once MAX_BACKLOG wait for its client,
    and says so: the stream then ends, and the client's reconnect replays from history."""

    overflowed = False

    def put_nowait(self, item: bytes | None) -> bool:
        if item is not None and self.qsize >= MAX_BACKLOG:
            self.overflowed = True
            return False
        return super().put_nowait(item)


def new_channels() -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=MemoryChannelsBackend(), channels=[CHANNEL], subscriber_class=EventSubscriber
    )


def _message(kind: str, event: dict[str, Any]) -> ServerSentEventMessage:
    data = msgspec.json.encode(event).decode()
    return ServerSentEventMessage(data=data, event=kind, id=event.get("id"))


def _comment(text: str, retry: int | None = None) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=None, comment=text, retry=retry)


class EventHub:
    """Publishes the queue's events on a channel and serves them to each open stream."""

    def __init__(
        self, channels: ChannelsPlugin, store: JobStore, *, keepalive_seconds: float
    ) -> None:
        self._channels = channels
        self._store = store
        self._keepalive = keepalive_seconds
        self._closing = asyncio.Event()
        self._relay: asyncio.Task | None = None
        self.source = IN_PROCESS

    # Publishing

    def publish_change(self, job: Job, row: dict[str, Any]) -> None:
        self._publish({"kind": "change", "event": change_event(row)})

    def publish_progress(self, job: Job) -> None:
        self._publish({"kind": "progress", "event": progress_event(job)})

    def _publish(self, message: dict[str, Any]) -> None:
        if self._closing.is_set():
            return
        with suppress(RuntimeError):  # the channel has stopped (shutting down)
            self._channels.publish(message, CHANNEL)  # a queue put: returns at once

    def listen_in_process(self) -> None:
        """Publish what this process changes (a standalone server, the embedded store)."""
        self.source = IN_PROCESS
        self._store.on_change.append(self.publish_change)
        self._store.on_progress.append(self.publish_progress)

    def follow_change_streams(self) -> None:
        """Publish every change on the replica set, whichever replica made it."""
        self.source = CHANGE_STREAMS
        relay = ChangeStreamRelay(self._store, self.publish_change, self.publish_progress)
        self._relay = asyncio.create_task(relay.run(), name="change-stream-relay")

    async def close(self) -> None:
        """End every open stream (the service is stopping) and the change-stream relay."""
        self._closing.set()
        if self._relay is not None:
            self._relay.cancel()
            await asyncio.gather(self._relay, return_exceptions=True)
            self._relay = None

    def closing(self) -> None:
        """Ask the open streams to end (before the server waits for its connections)."""
        self._closing.set()

    # Serving one stream

    async def stream(
        self,
        wanted: EventFilter,
        after: ObjectId | None,
        allowed: Callable[[], Awaitable[bool]] | None = None,
    ) -> AsyncIterator[ServerSentEventMessage]:
        """The events `wanted` lets through: with `after` (a Last-Event-ID), first what history
        holds from shortly before it, then the live ones, with a comment every keep-alive
        interval. Subscribed before the replay, so nothing falls between the two. `allowed`
        is asked before each live event and keep-alive: when it says no (the caller's key was
        revoked), the stream ends."""
        subscriber = await self._channels.subscribe(CHANNEL)
        closing = asyncio.ensure_future(self._closing.wait())
        waiting: asyncio.Future | None = None
        try:
            yield _comment(f"review-queue events ({self.source})", retry=RETRY_MILLISECONDS)
            missed = await self._missed(wanted, after) if after is not None else []
            if missed is None:
                yield _message("reset", reset_event(after))
                missed = []
            for event in missed:
                yield _message("change", event)
            replayed = {event["id"] for event in missed}  # at most MAX_REPLAY
            yield _comment("live")
            events = subscriber.iter_events()
            while True:
                if waiting is None:
                    waiting = asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait(
                    {waiting, closing}, timeout=self._keepalive, return_when="FIRST_COMPLETED"
                )
                if closing in done:
                    yield _comment("the service is stopping: reconnect with Last-Event-ID")
                    return
                if allowed is not None and not await allowed():
                    yield _comment("this API key is no longer valid")
                    return
                if not done:
                    yield _comment("keep-alive")
                    continue
                payload, waiting = waiting.result(), None
                if subscriber.overflowed:
                    yield _comment("too far behind: reconnect with Last-Event-ID")
                    return
                message = msgspec.json.decode(payload)
                event = message["event"]
                if not wanted.matches(event) or event.get("id") in replayed:
                    continue
                yield _message(message["kind"], event)
        finally:
            closing.cancel()
            if waiting is not None:
                waiting.cancel()
            with anyio.CancelScope(shield=True):
                await self._channels.unsubscribe(subscriber)

    async def _missed(self, wanted: EventFilter, after: ObjectId) -> list[dict] | None:
        """The change events `wanted` lets through from shortly before `after` on, oldest
        first; None when more than MAX_REPLAY rows were written since (whatever the filter:
        the rows read are what costs, and an app or stage filter would not bound them)."""
        missed: list[dict] = []
        rows = self._store.history_after(
            after, REPLAY_OVERLAP, job_id=wanted.job_id, page=REPLAY_PAGE
        )
        async with aclosing(rows):
            read = 0
            async for row in rows:
                read += 1
                if read > MAX_REPLAY:
                    return None
                event = change_event(row)
                if event["id"] != str(after) and wanted.matches(event):
                    missed.append(event)
        return missed


class ChangeStreamRelay:
    """Follows `job_history` inserts and the heartbeats written to `jobs` with change streams
    and hands each to `on_change` / `on_progress`, one getMore at a time. A wait the client's
    timeoutMS cuts short goes on with the same stream; a stream that fails is opened again
    after the last point it reached (its resume token, which quiet batches move on too);
    when the server no longer holds that point, it starts from now (clients that reconnect
    replay from history anyway)."""

    HISTORY = [{"$match": {"operationType": "insert"}}]
    HEARTBEATS = [
        {
            "$match": {
                "operationType": "update",
                "updateDescription.updatedFields.heartbeat_at": {"$exists": True},
            }
        },
        # what progress_event reads: not the job's params (up to 16 KiB) nor its lease token
        {"$project": {"fullDocument.params": 0, "fullDocument.lease_token": 0}},
    ]
    HISTORY_LOST = {136, 280, 286}  # CappedPositionLost, ChangeStreamFatalError, HistoryLost

    def __init__(
        self,
        store: JobStore,
        on_change: Callable[[Job, dict], None],
        on_progress: Callable[[Job], None],
        *,
        retry_seconds: float = 0.5,
    ) -> None:
        self._store = store
        self._on_change = on_change
        self._on_progress = on_progress
        self._retry = retry_seconds

    async def run(self) -> None:
        await asyncio.gather(
            self.follow(self._store.history, self.HISTORY, self._history_row),
            self.follow(
                self._store.jobs, self.HEARTBEATS, self._heartbeat, full_document="updateLookup"
            ),
        )

    def _history_row(self, change: dict[str, Any]) -> None:
        row = change.get("fullDocument")
        if row is not None:
            self._on_change(row, row)

    def _heartbeat(self, change: dict[str, Any]) -> None:
        job = change.get("fullDocument")  # None when the job was deleted meanwhile
        if job is not None and job.get("status") == Status.PROCESSING:
            self._on_progress(job)

    async def follow(
        self,
        collection: Any,
        pipeline: list[dict],
        handle: Callable[[dict[str, Any]], None],
        **options: Any,
    ) -> None:
        token = None
        delay = self._retry
        while True:
            try:
                stream = await resolve(collection.watch(pipeline, resume_after=token, **options))
                async with stream:
                    delay = self._retry
                    while stream.alive:
                        try:
                            change = await stream.try_next()  # one getMore: None when quiet
                        except PyMongoError as exc:
                            if not exc.timeout:
                                raise
                            continue  # the client's timeoutMS cut a wait short: go on
                        # it moves on quiet batches too, so a reopened stream misses nothing
                        token = stream.resume_token or token
                        if change is None:
                            continue
                        try:
                            handle(change)
                        except Exception:
                            log.exception("A change-stream event could not be published")
            except asyncio.CancelledError:
                raise
            except OperationFailure as exc:
                if exc.code in self.HISTORY_LOST:
                    log.warning("The change stream's resume point is gone: following from now")
                    token = None
                else:
                    log.warning("The change stream failed (%s); opening it again", exc)
            except PyMongoError as exc:
                log.warning("The change stream failed (%s); opening it again", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
