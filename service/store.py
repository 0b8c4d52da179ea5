"""Every MongoDB read and write of the queue: indexes, the atomic claim, transitions, history.

Each state change is one compare-and-set ``find_one_and_update`` filtered on the state it
expects, followed by exactly one ``job_history`` row (in one transaction on a replica set).
"""

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from service.clock import utcnow
from service.db import create_indexes, resolve
from service.domain import (
    INITIAL,
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
    Transition,
    TransitionNotAllowed,
    retry_delay,
    worker_move,
)

Job = dict[str, Any]
DEFAULT_RETRY = RetryPolicy()

CLAIM_ORDER = [("priority", DESCENDING), ("requested_at", ASCENDING), ("_id", ASCENDING)]
HISTORY_ORDER = [("version", ASCENDING), ("_id", ASCENDING)]
LATEST_FIRST = [("requested_at", DESCENDING), ("_id", DESCENDING)]

JOB_INDEXES = [
    # Equality (stage, status), sort (priority, requested_at), range (available_at).
    IndexModel(
        [("stage", 1), ("status", 1), ("priority", -1), ("requested_at", 1), ("available_at", 1)],
        name="claim_order",
    ),
    IndexModel([("app_id", 1), ("requested_at", -1)], name="app_latest"),
    # At most one queued or processing job per app: concurrent adds cannot both insert.
    IndexModel(
        [("app_id", 1)],
        name="one_active_job_per_app",
        unique=True,
        partialFilterExpression={"active": True},
    ),
    IndexModel([("status", 1), ("lease_expires_at", 1)], name="lease_expiry"),
    IndexModel(
        [("active", 1), ("requested_at", 1)],
        name="active_jobs",
        partialFilterExpression={"active": True},
    ),
    IndexModel([("status", 1), ("finished_at", 1)], name="finished_on"),
]
HISTORY_INDEXES = [IndexModel([("job_id", 1), ("version", 1)], name="job_history_order")]


def state_of(job: Job) -> State:
    return State(Stage(job["stage"]), Status(job["status"]))


def new_token() -> str:
    return uuid.uuid4().hex


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
    ) -> None:
        self.retry = retry
        self._jitter = jitter
        self.jobs = database["jobs"]
        self.history = database["job_history"]
        self._database = database
        self._client = client
        self._transactions = transactions
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    async def ensure_indexes(self) -> None:
        await create_indexes(self.jobs, JOB_INDEXES)
        await create_indexes(self.history, HISTORY_INDEXES)

    async def ping(self) -> bool:
        try:
            await self._database.command("ping")
        except Exception:
            return False
        return True

    # Reads

    async def get(self, job_id: str) -> Job:
        job = await self.jobs.find_one({"_id": job_id})
        if job is None:
            raise JobNotFound(job_id)
        return job

    async def latest_for_app(self, app_id: str) -> Job | None:
        found = await self.jobs.find({"app_id": app_id}, sort=LATEST_FIRST, limit=1).to_list(None)
        return found[0] if found else None

    async def poll(self, stage: Stage | None, status: Status | None, limit: int) -> list[Job]:
        query: dict[str, Any] = {}
        if stage is not None:
            query["stage"] = stage
        if status is not None:
            query["status"] = status
        return await self.jobs.find(query, sort=CLAIM_ORDER, limit=limit).to_list(None)

    async def _count_by_stage_and_status(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        by_state = {"$group": {"_id": {"stage": "$stage", "status": "$status"}, "n": {"$sum": 1}}}
        for key, n in await self._group_count([by_state]):
            counts.setdefault(key["stage"], {})[key["status"]] = n
        return counts

    async def _group_count(self, pipeline: list[dict]) -> list[tuple[Any, int]]:
        cursor = await resolve(self.jobs.aggregate(pipeline))
        return [(row["_id"], row["n"]) for row in await cursor.to_list(None)]

    async def history_of(self, job_id: str) -> list[dict]:
        await self.get(job_id)
        cursor = self.history.find({"job_id": job_id}, sort=HISTORY_ORDER)
        return await cursor.to_list(None)

    async def overview(self, *, limit: int, since: datetime) -> dict[str, Any]:
        """Active jobs and counts; a queued job not claimable before `available_at` is delayed."""
        now = self._clock()
        active = await self.jobs.find(
            {"active": True}, sort=[("requested_at", 1), ("_id", 1)], limit=limit
        ).to_list(None)
        counts = await self._count_by_stage_and_status()
        delayed = await self._group_count(
            [
                {"$match": {"status": Status.QUEUED, "available_at": {"$gt": now}}},
                {"$group": {"_id": "$stage", "n": {"$sum": 1}}},
            ]
        )
        for stage, n in delayed:  # counted apart, so a job may have moved in between
            by_status = counts.setdefault(stage, {})
            claimable = by_status.pop("queued", 0) - n
            if claimable > 0:
                by_status["queued"] = claimable
            by_status["delayed"] = n
        finished_since = {"$gte": since}
        return {
            "active_jobs": active,
            "active_total": sum(
                n
                for by_status in counts.values()
                for status, n in by_status.items()
                if status in ACTIVE_COUNTS
            ),
            "done_jobs_today": await self.jobs.count_documents(
                {"status": Status.COMPLETED, "finished_at": finished_since}
            ),
            "error_jobs_today": await self.jobs.count_documents(
                {"status": Status.ERROR, "finished_at": finished_since}
            ),
            "counts": counts,
        }

    # Writes

    async def add(
        self,
        app_id: str,
        *,
        priority: int,
        params: dict[str, Any],
        force: bool,
        max_retries: int | None = None,
    ) -> tuple[str, Job]:
        """Queue a run for an app unless one is active (or done, without force).

        Returns ("created" | "queued_already" | "exists", job). The partial unique index makes
        concurrent adds of one app create exactly one job: the losers see it on the next read.
        A failed or cancelled latest run gets a new run.
        """
        retries = self.retry.max_retries if max_retries is None else max_retries
        for _ in range(5):
            latest = await self.latest_for_app(app_id)
            if latest is not None and latest.get("active"):
                return "queued_already", latest
            if latest is not None and latest["status"] == Status.COMPLETED and not force:
                return "exists", latest
            try:
                job = self._new_job(app_id, priority, params, retries)
                return "created", await self._insert(job)
            except DuplicateKeyError:
                continue
        raise QueueError("The app's jobs changed while adding; try again", {"app_id": app_id})

    def _new_job(self, app_id: str, priority: int, params: dict[str, Any], max_retries: int) -> Job:
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
            "available_at": now,
            "attempt": 0,
            "max_retries": max_retries,
            "runs_left": 1 + max_retries,
            "retries": 0,
            "error_message": None,
            "worker_id": None,
            "version": 1,
        }

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
        token = new_token()
        return await self.change_state(
            {**query, "stage": stage, "status": Status.QUEUED, "available_at": {"$lte": now}},
            {
                "$set": {
                    "status": Status.PROCESSING,
                    "worker_id": worker_id,
                    "lease_token": token,
                    "lease_seconds": lease_seconds,
                    "lease_expires_at": now + timedelta(seconds=lease_seconds),
                    "claimed_at": now,
                    "progress": None,
                    "progress_message": None,
                },
                "$inc": {"attempt": 1, "runs_left": -1},
            },
            now=now,
            event=Event.CLAIMED,
            worker_id=worker_id,
            token=token,
            sort=CLAIM_ORDER,
        )

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
        for _ in range(5):
            job = await self.get(job_id)
            current = state_of(job)
            move = worker_move(current, target)
            refused = move is None or target.status == Status.PROCESSING
            stale = token is not None and token != job.get("lease_token")
            if (refused or stale) and await self._already_happened(job, target, token):
                return job
            if refused:
                raise TransitionNotAllowed(current, target)
            held_token = self._check_lease(job, token)
            now = self._clock()
            update, event, message = self._outcome(
                job, move, now, error_message, progress, retryable
            )
            changed = await self.change_state(
                {"_id": job_id, "status": Status.PROCESSING, "lease_token": held_token},
                update,
                now=now,
                event=event,
                worker_id=job.get("worker_id"),
                token=held_token,
                error_message=message,
            )
            if changed is not None:
                return changed
        raise QueueError("The job changed while updating it; try again", {"job_id": job_id})

    def _outcome(
        self,
        job: Job,
        move: Transition,
        now: datetime,
        error_message: str | None,
        progress: float | None,
        retryable: bool,
    ) -> tuple[dict, Event, str | None]:
        """What a worker's move does to the job: (update, history event, error message)."""
        if move.event == Event.RELEASED:
            return self._release_update(now), move.event, None
        if move.event != Event.FAILED:
            return self._advance(job, move.to, now, progress), move.event, None
        message = error_message or "failed without a message"
        if retryable and job.get("runs_left", 0) > 0:
            policy = self.retry
            delay = retry_delay(
                job["attempt"], policy.base_seconds, policy.max_seconds, self._jitter()
            )
            return self._retry_update(now, message, delay), Event.RETRY_SCHEDULED, message
        return self._dead_letter_update(now, message), Event.FAILED, message

    def _advance(self, job: Job, target: State, now: datetime, progress: float | None) -> dict:
        fields: dict[str, Any] = {
            "stage": target.stage,
            "status": target.status,
            "lease_token": None,
            "lease_expires_at": None,
            "attempt": 0,
            "runs_left": 1 + job.get("max_retries", self.retry.max_retries),
            "available_at": now,
            "progress": 100 if target.status == Status.COMPLETED else progress,
            "progress_message": None,
            "error_message": None,
        }
        update: dict[str, Any] = {"$set": fields}
        if target.status == Status.COMPLETED:
            fields["finished_at"] = now
            update["$unset"] = {"active": ""}
        return update

    @staticmethod
    def _release_update(now: datetime) -> dict:
        """Handed back unfinished by its worker: claimable again at once, the run not counted."""
        fields = {**_LEASE_CLEARED, "status": Status.QUEUED, "available_at": now}
        return {"$set": fields, "$inc": {"runs_left": 1, "attempt": -1}}

    @staticmethod
    def _retry_update(now: datetime, message: str, delay: float) -> dict:
        """A failed run with runs left: queued again at its stage after `delay` seconds."""
        fields = {**_LEASE_CLEARED, "status": Status.QUEUED, "error_message": message}
        fields["available_at"] = now + timedelta(seconds=delay)
        return {"$set": fields, "$inc": {"retries": 1}}

    @staticmethod
    def _dead_letter_update(now: datetime, message: str) -> dict:
        """A failed run with no runs left, or not retryable: stays in error at its stage."""
        fields = {**_LEASE_CLEARED, "status": Status.ERROR, "error_message": message}
        fields["finished_at"] = now
        return {"$set": fields, "$unset": {"active": ""}}

    def _check_lease(self, job: Job, token: str | None) -> str | None:
        held = job.get("lease_token")
        if token is None and job.get("worker_id") is None:
            return held  # claimed through the seed's plain flow, without a worker id
        if token is None:
            raise LeaseLost(state_of(job), "This job is held under a lease: send its lease_token")
        if token != held:
            raise LeaseLost(state_of(job))
        return held

    async def _already_happened(self, job: Job, target: State, token: str | None) -> bool:
        """A client retrying a transition that went through (its answer was lost) gets 200."""
        if token is None:
            return state_of(job) == target and target.status != Status.PROCESSING
        if target.status == Status.ERROR:
            events = [Event.FAILED, Event.RETRY_SCHEDULED]
        else:
            moves = (worker_move(state, target) for state in _FROM_PROCESSING)
            events = [move.event for move in moves if move is not None]
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
        job = await self.get(job_id)
        if job["status"] != Status.PROCESSING:
            raise LeaseLost(state_of(job), "The job is not being processed any more")
        now = self._clock()
        fields: dict[str, Any] = {
            "lease_expires_at": now + timedelta(seconds=job["lease_seconds"]),
            "heartbeat_at": now,
        }
        if progress is not None:
            fields["progress"] = progress
        if message is not None:
            fields["progress_message"] = message
        updated = await self.jobs.find_one_and_update(
            {"_id": job_id, "status": Status.PROCESSING, "lease_token": token},
            {"$set": fields},
            return_document=ReturnDocument.AFTER,
        )
        if updated is None:
            raise LeaseLost(state_of(await self.get(job_id)))
        return updated

    async def reap_expired(self) -> list[Job]:
        """An expired lease counts as a failed run: the job goes back to the queue at its
        stage at once while runs are left, else it becomes a dead letter."""
        reaped = []
        now = self._clock()
        message = "lease expired"
        passes = (
            ({"$gt": 0}, self._retry_update(now, message, 0)),
            ({"$lte": 0}, self._dead_letter_update(now, message)),
        )
        for runs_left, update in passes:
            query = {
                "status": Status.PROCESSING,
                "lease_expires_at": {"$lt": now},
                "runs_left": runs_left,
            }
            while job := await self.change_state(
                query,
                update,
                now=now,
                event=Event.LEASE_EXPIRED,
                worker_id=None,
                token=None,
                error_message=message,
            ):
                reaped.append(job)
        return reaped

    # The one way a state changes

    async def _insert(self, job: Job) -> Job:
        row = self._history_row(job, Event.CREATED, worker_id=None, token=None, error_message=None)

        async def write(session: Any) -> Job:
            await self.jobs.insert_one(job, session=session)
            await self.history.insert_one(row, session=session)
            return job

        return await self._atomically(write)

    async def change_state(
        self,
        query: dict[str, Any],
        update: dict[str, Any],
        *,
        now: datetime,
        event: Event,
        worker_id: str | None,
        token: str | None,
        error_message: str | None = None,
        sort: list | None = None,
    ) -> Job | None:
        update.setdefault("$set", {})["updated_at"] = now
        update.setdefault("$inc", {})["version"] = 1

        async def write(session: Any) -> Job | None:
            job = await self.jobs.find_one_and_update(
                query, update, sort=sort, return_document=ReturnDocument.AFTER, session=session
            )
            if job is not None:
                who = worker_id if worker_id is not None else job.get("worker_id")
                row = self._history_row(job, event, who, token, error_message)
                await self.history.insert_one(row, session=session)
            return job

        return await self._atomically(write)

    async def _atomically(self, write: Callable[[Any], Any]) -> Any:
        if not self._transactions:
            return await write(None)
        async with self._client.start_session() as session:
            return await session.with_transaction(write)

    def _history_row(
        self,
        job: Job,
        event: Event,
        worker_id: str | None,
        token: str | None,
        error_message: str | None,
    ) -> dict[str, Any]:
        return {
            "job_id": job["_id"],
            "app_id": job["app_id"],
            "version": job["version"],
            "timestamp": job["updated_at"],
            "stage": job["stage"],
            "status": job["status"],
            "worker_id": worker_id,
            "event": event,
            "error_message": error_message,
            "lease_token": token,
        }


_LEASE_CLEARED = {
    "lease_token": None,
    "lease_expires_at": None,
    "progress": None,
    "progress_message": None,
}
ACTIVE_COUNTS = (Status.QUEUED, Status.PROCESSING, "delayed")  # the overview's active jobs
_FROM_PROCESSING = [State(stage, Status.PROCESSING) for stage in WORK_STAGES]
