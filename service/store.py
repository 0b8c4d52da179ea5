"""Every MongoDB read and write of the queue: the atomic claim, transitions, history, overview.

Each state change is one compare-and-set `find_one_and_update` filtered on the state it
expects (the update itself is in `service/moves.py`), followed by exactly one `job_history`
row, in one transaction on a replica set. Nothing is read before a state change: when the
compare-and-set matches nothing, the job is read to explain why (404, 409, or a repeat of a
change that already happened). The indexes that serve every query are in
`service/indexes.py`.
"""

import logging
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from service import moves
from service.clock import as_utc, naive_utc, utcnow
from service.db import PRIMARY, TRANSACTION_OPTIONS, aggregated
from service.domain import (
    FINAL_STATUSES,
    INITIAL,
    PRIORITIES,
    WORK_STAGES,
    AlreadyClaimed,
    Event,
    JobNotFound,
    LeaseLost,
    QueueError,
    RetryPolicy,
    Stage,
    State,
    Status,
    TransitionNotAllowed,
    worker_move,
)
from service.indexes import ensure_indexes

Job = dict[str, Any]
log = logging.getLogger(__name__)
DEFAULT_RETRY = RetryPolicy()

CLAIM_ORDER = [("priority", -1), ("requested_at", 1), ("_id", 1)]
CURRENT_FIRST = [("active", -1), ("requested_at", -1), ("_id", -1)]
OLDEST_FIRST = [("requested_at", 1), ("_id", 1)]
HISTORY_ORDER = [("version", 1)]
WRITE_ORDER = [("_id", 1)]  # history rows by id: the events' order
NO_TOKEN = {"lease_token": 0}  # history as anyone but its worker may see it
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ALL_STAGES = [stage.value for stage in Stage]
ALL_STATUSES = [status.value for status in Status]


@dataclass
class StageActive:
    """What is active at one stage."""

    queued: int = 0  # claimable now
    delayed: int = 0  # queued, not claimable before available_at (a delay or a backoff)
    processing: int = 0
    oldest_claimable: datetime | None = None  # the earliest available_at of the claimable

    def counts(self) -> dict[str, int]:
        return {"queued": self.queued, "delayed": self.delayed, "processing": self.processing}

    @property
    def total(self) -> int:
        return self.queued + self.delayed + self.processing

    def oldest_age(self, now: datetime) -> float | None:
        if self.oldest_claimable is None:
            return None
        return max(0.0, (now - self.oldest_claimable).total_seconds())


def state_of(job: Job) -> State:
    return State(Stage(job["stage"]), Status(job["status"]))


def new_token(lease_seconds: int) -> str:
    """An unguessable lease token that also says the lease's length, so that a heartbeat can
    extend the lease in one write without reading the job."""
    return f"{lease_seconds}.{secrets.token_hex(16)}"


def lease_seconds_of(token: str) -> int | None:
    seconds, dot, _ = token.partition(".")
    digits = dot and seconds.isascii() and seconds.isdigit()  # not "²" nor "٣"
    return int(seconds) if digits and 0 < len(seconds) <= 5 else None


class JobStore:
    def __init__(
        self,
        database: Any,
        *,
        client: Any = None,
        transactions: bool = False,
        clock: Callable[[], datetime] = utcnow,
        retry: RetryPolicy = DEFAULT_RETRY,
        jitter: Callable[[], float] = lambda: random.uniform(-0.1, 0.1),
        retention_days: int | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self.retry = retry
        self._jitter = jitter
        self.jobs = database.get_collection("jobs", **PRIMARY)
        self.history = database.get_collection("job_history", **PRIMARY)
        self._database = database
        self._client = client
        self._transactions = transactions
        self._clock = clock
        self._retention_days = retention_days
        self._timeout = timeout_seconds
        # Called after each state change is written, with (job, its history row), and after
        # each heartbeat with (job): plain callables that must return at once.
        self.on_change: list[Callable[[Job, dict], None]] = []
        self.on_progress: list[Callable[[Job], None]] = []

    def now(self) -> datetime:
        return self._clock()

    async def ensure_indexes(self) -> None:
        await ensure_indexes(self._database, self._retention_days)

    # Reads: one command each

    async def get(self, job_id: str) -> Job:
        job = await self.jobs.find_one({"_id": job_id})
        if job is None:
            raise JobNotFound(job_id)
        return job

    async def current_for_app(self, app_id: str) -> Job | None:
        """The app's active job if it has one, else its latest."""
        found = await self.jobs_of_app(app_id, 1)
        return found[0] if found else None

    async def poll(self, stage: Stage | None, status: Status | None, limit: int) -> list[Job]:
        """Jobs by stage and status in claim order; None means any (an `$in` over every value,
        so that the claim index still gives the order)."""
        query = {
            "stage": stage if stage is not None else {"$in": ALL_STAGES},
            "status": status if status is not None else {"$in": ALL_STATUSES},
        }
        return await self.jobs.find(query, sort=CLAIM_ORDER, limit=limit).to_list(None)

    async def jobs_of_app(self, app_id: str, limit: int) -> list[Job]:
        """The app's runs: its active one first, then the newest."""
        found = self.jobs.find({"app_id": app_id}, sort=CURRENT_FIRST, limit=limit)
        return await found.to_list(None)

    async def oldest_waiting(self, stage: Stage) -> Job | None:
        """The queued job of a stage that was asked for first. The claim index gives that order
        once its priority is spread over every value (a merge of one ordered scan each)."""
        query = {"stage": stage, "status": Status.QUEUED, "priority": {"$in": list(PRIORITIES)}}
        found = await self.jobs.find(query, sort=OLDEST_FIRST, limit=1).to_list(None)
        return found[0] if found else None

    async def history_of(self, job_id: str) -> list[dict]:
        rows = await self.history.find({"job_id": job_id}, sort=HISTORY_ORDER).to_list(None)
        if not rows:
            await self.get(job_id)  # 404 for an unknown job; retention may have taken the rows
        return rows

    async def history_after(
        self, after: ObjectId, overlap: timedelta, *, job_id: str | None = None, page: int = 500
    ) -> AsyncIterator[dict]:
        """History rows written from `overlap` before the row `after` on, by id, a page at a
        time (the events a reconnecting client may have missed). One job's rows come from its
        own history (few, in the order they happened). Any other filter is the caller's: a
        filter on a field that the `_id` index does not hold would read every row it skips."""
        start = after.generation_time - overlap
        since = ObjectId.from_datetime(start) if start > EPOCH else ObjectId("0" * 24)
        if job_id is not None:
            rows = await self.history.find(
                {"job_id": job_id}, sort=HISTORY_ORDER, projection=NO_TOKEN
            ).to_list(None)
            for row in rows:
                if row["_id"] > since:
                    yield row
            return
        while True:
            query = {"_id": {"$gt": since}}
            found = self.history.find(query, sort=WRITE_ORDER, limit=page, projection=NO_TOKEN)
            rows = await found.to_list(None)
            for row in rows:
                yield row
            if len(rows) < page:
                return
            since = rows[-1]["_id"]

    async def overview(self, *, limit: int, since: datetime) -> dict[str, Any]:
        """Active jobs oldest first; counts of what is active, by stage and status (a queued job
        not claimable before `available_at` is `delayed`); and what finished since `since`.
        Bounded by what is active and what finished since then, never by all jobs stored."""
        now = self._clock()
        # Without params (up to 16 KiB each): the overview lists jobs, GET /queue/jobs/{id}
        # shows one whole.
        found = self.jobs.find(
            {"active": True}, projection={"params": 0}, sort=OLDEST_FIRST, limit=limit
        )
        active = await found.to_list(None)
        counts = {
            stage: {state: n for state, n in at_stage.counts().items() if n}
            for stage, at_stage in (await self.active_by_stage(now)).items()
            if at_stage.total
        }
        finished: dict[str, dict[str, int]] = {}
        for key, n in await self._group_count(
            self.finished_since(since), {"stage": "$stage", "status": "$status"}
        ):
            finished.setdefault(key["stage"], {})[key["status"]] = n
        return {
            "active_jobs": active,
            "active_total": sum(n for by_status in counts.values() for n in by_status.values()),
            "done_jobs_today": _total(finished, Status.COMPLETED),
            "error_jobs_today": _total(finished, Status.ERROR),
            "counts": counts,
            "finished_today": finished,
        }

    @staticmethod
    def finished_since(since: datetime) -> dict[str, Any]:
        """Jobs that finished (completed, failed for good, cancelled) at or after `since`."""
        return {
            "status": {"$in": list(FINAL_STATUSES)},
            "stage": {"$in": ALL_STAGES},
            "finished_at": {"$gte": since},
        }

    async def active_by_stage(self, now: datetime) -> dict[str, "StageActive"]:
        """The active jobs of each work stage: queued (claimable now), delayed (not before
        `available_at`: a delay or a backoff) and processing, and the earliest `available_at`
        of the claimable ones. One aggregation over what is active (`active_by_age`)."""
        delayed = {"$gt": ["$available_at", naive_utc(now)]}
        pipeline = [
            {"$match": {"active": True}},
            {
                "$group": {
                    "_id": {"stage": "$stage", "status": "$status", "delayed": delayed},
                    "n": {"$sum": 1},
                    "oldest": {"$min": "$available_at"},
                }
            },
        ]
        found = {stage.value: StageActive() for stage in WORK_STAGES}
        for row in await aggregated(self.jobs, pipeline):
            key = row["_id"]
            at_stage = found.setdefault(key["stage"], StageActive())
            if key["status"] == Status.PROCESSING:
                at_stage.processing += row["n"]
            elif key["delayed"]:
                at_stage.delayed += row["n"]
            else:
                at_stage.queued += row["n"]
                at_stage.oldest_claimable = as_utc(row["oldest"])
        return found

    async def _group_count(self, match: dict, key: dict) -> list[tuple[Any, int]]:
        pipeline = [{"$match": match}, {"$group": {"_id": key, "n": {"$sum": 1}}}]
        return [(row["_id"], row["n"]) for row in await aggregated(self.jobs, pipeline)]

    # Adding a job: one read, then the insert and its history row

    async def add(
        self,
        app_id: str,
        *,
        priority: int,
        params: dict[str, Any],
        force: bool,
        max_retries: int | None = None,
        available_at: datetime | None = None,
    ) -> tuple[str, Job]:
        """Queue a run for an app unless one is active (or done, without force).

        Returns ("created" | "queued_already" | "exists", job). The partial unique index makes
        concurrent adds of one app create exactly one job: the losers see it on the next read.
        A failed or cancelled latest run gets a new run. `available_at` delays the first claim
        (a delayed job is queued, and counted as delayed until then).
        """
        retries = self.retry.max_retries if max_retries is None else max_retries
        for _ in range(5):
            current = await self.current_for_app(app_id)
            if current is not None and current.get("active"):
                return "queued_already", current
            if current is not None and current["status"] == Status.COMPLETED and not force:
                return "exists", current
            try:
                return "created", await self._insert(
                    self._new_job(app_id, priority, params, retries, available_at)
                )
            except DuplicateKeyError:
                continue
        raise QueueError("The app's jobs changed while adding; try again", {"app_id": app_id})

    def _new_job(
        self,
        app_id: str,
        priority: int,
        params: dict[str, Any],
        max_retries: int,
        available_at: datetime | None = None,
    ) -> Job:
        now = self._clock()
        job_id = str(ObjectId())
        return {
            "_id": job_id,
            "job_id": job_id,
            "app_id": app_id,
            "stage": INITIAL.stage,
            "status": INITIAL.status,
            "active": True,
            "priority": priority,
            "params": params,
            "requested_at": now,
            "updated_at": now,
            "available_at": max(now, available_at) if available_at else now,
            "attempt": 0,
            "max_retries": max_retries,
            "retries": 0,
            "error_message": None,
            "worker_id": None,
            "version": 1,
            "last_event": Event.CREATED,
        }

    # Claims

    async def claim_next(self, stage: Stage, worker_id: str, lease_seconds: int) -> Job | None:
        """Atomically take the best claimable job of a stage, or None when there is none."""
        return await self._claim({"stage": stage}, stage, worker_id, lease_seconds)

    async def claim(
        self,
        job_id: str,
        stage: Stage,
        worker_id: str | None,
        lease_seconds: int,
        token: str | None = None,
    ) -> Job:
        """Compare-and-set claim of one queued job (the seed's 'update to processing').

        The holder repeating its claim (same lease_token, or same worker id) gets the job back.
        """
        claimed = await self._claim({"_id": job_id}, stage, worker_id, lease_seconds)
        if claimed is not None:
            return claimed
        job = await self.get(job_id)
        current = state_of(job)
        if current == State(stage, Status.PROCESSING):
            if token is not None and token == job.get("lease_token"):
                return job
            if token is None and worker_id and job.get("worker_id") == worker_id:
                return job
            raise AlreadyClaimed()
        raise TransitionNotAllowed(current, State(stage, Status.PROCESSING))

    async def _claim(
        self, query: dict[str, Any], stage: Stage, worker_id: str | None, lease_seconds: int
    ) -> Job | None:
        now = self._clock()
        token = new_token(lease_seconds)
        return await self.change_state(
            {**query, "stage": stage, "status": Status.QUEUED, "available_at": {"$lte": now}},
            moves.claim(now, worker_id, token, lease_seconds),
            worker_id=worker_id,
            token=token,
            sort=CLAIM_ORDER,
        )

    # A worker's moves

    async def transition(
        self,
        job_id: str,
        target: State,
        *,
        token: str | None,
        error_message: str | None = None,
        progress: float | None = None,
        retryable: bool = True,
    ) -> Job:
        """A worker moves its processing job along the lifecycle, fenced by its lease token.

        A reported error with runs left goes back to the queue after a backoff instead; a job
        handed back unfinished (released) goes back at once, its run not counted.
        """
        sources = [move.frm for move in moves.worker_moves_into(target)]
        for _ in range(5):
            if target.status != Status.PROCESSING and sources:
                now = self._clock()
                update = moves.worker_move(
                    target,
                    now,
                    error_message=error_message,
                    progress=progress,
                    retryable=retryable,
                    retry=self.retry,
                    jitter=self._jitter(),
                )
                stages = [state.stage.value for state in sources]
                query = {
                    "_id": job_id,
                    "status": Status.PROCESSING,
                    "stage": stages[0] if len(stages) == 1 else {"$in": stages},
                    **({"lease_token": token} if token is not None else {"worker_id": None}),
                }
                changed = await self.change_state(
                    query, update, token=token, error_message=error_message
                )
                if changed is not None:
                    return changed
            job = await self._explain_refusal(job_id, target, token)
            if job is not None:
                return job
        raise QueueError("The job changed while updating it; try again", {"job_id": job_id})

    async def _explain_refusal(self, job_id: str, target: State, token: str | None) -> Job | None:
        """Why a worker's compare-and-set matched nothing: raises the refusal, or returns the
        job when the move already happened (a retried request), or None to try again."""
        job = await self.get(job_id)
        current = state_of(job)
        move = worker_move(current, target)
        refused = move is None or target.status == Status.PROCESSING
        stale = token is not None and token != job.get("lease_token")
        if (refused or stale) and await self._already_happened(job, target, token):
            return job
        if refused:
            raise TransitionNotAllowed(current, target)
        held = job.get("lease_token")
        if token is None and job.get("worker_id") is not None:
            raise LeaseLost(current, "This job is held under a lease: send its lease_token")
        if token is not None and token != held:
            raise LeaseLost(current)
        return None  # it changed between the two commands: decide again

    async def _already_happened(self, job: Job, target: State, token: str | None) -> bool:
        """A client retrying a transition that went through (its answer was lost) gets 200."""
        if token is None:
            return state_of(job) == target and target.status != Status.PROCESSING
        if target.status == Status.ERROR:
            events = [Event.FAILED, Event.RETRY_SCHEDULED]
        else:
            events = [move.event for move in moves.worker_moves_into(target)]
            if not events:
                return False
        row = await self.history.find_one(
            {
                "job_id": job["_id"],
                "stage": target.stage,
                "lease_token": token,
                "event": {"$in": events},
            }
        )
        return row is not None

    async def verify_lease(self, job_id: str, app_id: str, stage: Stage, token: str) -> Job:
        """The caller holds the live lease of this app's job at this stage, or LeaseLost."""
        job = await self.get(job_id)
        if job["app_id"] != app_id:
            raise LeaseLost(state_of(job), f"Job {job_id} is for another app")
        if state_of(job) != State(stage, Status.PROCESSING):
            raise LeaseLost(state_of(job), f"The job is not being processed at the {stage} stage")
        if token != job.get("lease_token"):
            raise LeaseLost(state_of(job))
        return job

    async def heartbeat(
        self, job_id: str, token: str, *, progress: float | None, message: str | None
    ) -> Job:
        """Extend the lease by its length (which the token carries) in one write."""
        seconds = lease_seconds_of(token)
        if seconds is None:  # a token minted before tokens carried the lease's length
            seconds = (await self.get(job_id)).get("lease_seconds", 0)
        now = self._clock()
        fields: dict[str, Any] = {
            "heartbeat_at": now,
            "lease_expires_at": now + timedelta(seconds=seconds),
        }
        if progress is not None:
            fields["progress"] = progress
        if message is not None:
            fields["progress_message"] = message
        updated = await self.jobs.find_one_and_update(
            {"_id": job_id, "status": Status.PROCESSING, "lease_token": token},
            {"$set": fields},
            return_document=pymongo.ReturnDocument.AFTER,
        )
        if updated is not None:
            self._announce(self.on_progress, updated)
            return updated
        job = await self.get(job_id)
        if job["status"] != Status.PROCESSING:
            raise LeaseLost(state_of(job), "The job is not being processed any more")
        raise LeaseLost(state_of(job))

    async def reap_expired(self) -> list[Job]:
        """An expired lease counts as a failed run: the job goes back to the queue at its
        stage at once while runs are left, else it becomes a dead letter."""
        reaped = []
        now = self._clock()
        query = {"status": Status.PROCESSING, "lease_expires_at": {"$lt": now}}
        while job := await self.change_state(
            query,
            moves.lease_expired(now),
            worker_id=None,
            token=None,
            error_message=moves.LEASE_EXPIRED_MESSAGE,
        ):
            reaped.append(job)
        return reaped

    # Operator moves: the compare-and-set first, a read only to explain a refusal

    async def requeue(self, job_id: str, by: str) -> Job | None:
        """A dead letter back to the queue; None when the job is not in error."""
        return await self.change_state(
            {"_id": job_id, "status": Status.ERROR},
            moves.requeued(self._clock()),
            worker_id=by,
            token=None,
        )

    async def cancel(self, job_id: str, by: str) -> Job | None:
        """A queued, processing or failed job becomes cancelled; None when it is not one."""
        return await self.change_state(
            {"_id": job_id, "status": {"$in": [Status.QUEUED, Status.PROCESSING, Status.ERROR]}},
            moves.cancelled(self._clock()),
            worker_id=by,
            token=None,
        )

    # The one way a state changes

    async def _insert(self, job: Job) -> Job:
        row = self._history_row(job, worker_id=None, token=None, error_message=None)

        async def write(session: Any) -> Job:
            await self.jobs.insert_one(job, session=session)
            await self.history.insert_one(row, session=session)
            return job

        inserted = await self._atomically(write)
        self._announce(self.on_change, inserted, row)
        return inserted

    async def change_state(
        self,
        query: dict[str, Any],
        update: moves.Update,
        *,
        worker_id: str | None = None,
        token: str | None,
        error_message: str | None = None,
        sort: list | None = None,
    ) -> Job | None:
        """The compare-and-set of one state change and, when it matched, its history row."""

        rows: list[dict] = []

        async def write(session: Any) -> Job | None:
            rows.clear()  # a retried transaction starts again
            job = await self.jobs.find_one_and_update(
                query,
                update,
                sort=sort,
                return_document=pymongo.ReturnDocument.AFTER,
                session=session,
            )
            if job is not None:
                who = worker_id if worker_id is not None else job.get("worker_id")
                rows.append(self._history_row(job, who, token, error_message))
                await self.history.insert_one(rows[0], session=session)
            return job

        changed = await self._atomically(write)
        if changed is not None:
            self._announce(self.on_change, changed, rows[0])
        return changed

    @staticmethod
    def _announce(listeners: list[Callable[..., None]], *what: Any) -> None:
        """Tell the listeners (events, metrics) after the change is written. A listener must not
        block or fail the change: one that raises is logged and skipped."""
        for listener in listeners:
            try:
                listener(*what)
            except Exception:
                log.exception("A state-change listener failed")

    async def _atomically(self, write: Callable[[Any], Awaitable[Any]]) -> Any:
        if not self._transactions:
            return await write(None)
        # with_transaction retries transient errors for up to 120 s unless a timeout bounds it.
        bounded = pymongo.timeout(self._timeout) if self._timeout else nullcontext()
        with bounded:
            async with self._client.start_session() as session:
                return await session.with_transaction(write, **TRANSACTION_OPTIONS)

    def _history_row(
        self, job: Job, worker_id: str | None, token: str | None, error_message: str | None
    ) -> dict[str, Any]:
        return {
            "job_id": job["_id"],
            "app_id": job["app_id"],
            "version": job["version"],
            "timestamp": job["updated_at"],
            "stage": job["stage"],
            "status": job["status"],
            "worker_id": worker_id,
            "event": job["last_event"],
            "error_message": error_message,
            "lease_token": token,
        }


def _total(by_stage: dict[str, dict[str, int]], status: Status) -> int:
    return sum(by_status.get(status, 0) for by_status in by_stage.values())
