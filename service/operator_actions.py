"""What an operator does to jobs: list dead letters, requeue them, cancel jobs.

Every action is a compare-and-set through JobStore.change_state, so it writes its history row
(worker id `operator`) like any other state change.
"""

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from service.clock import as_utc, iso
from service.cursor import decode_cursor, encode_cursor
from service.domain import WORK_STAGES, InvalidField, NotAllowed, QueueError, Stage, Status
from service.store import Job, JobStore

OPERATOR = "operator"
NEWEST_FIRST = [("finished_at", -1), ("_id", -1)]


class OperatorActions:
    def __init__(self, store: JobStore) -> None:
        self.store = store

    async def dead_letters(
        self, stage: Stage | None, limit: int, cursor: str | None
    ) -> tuple[list[Job], int, str | None]:
        """Jobs left in error, newest first: (page, total, next_cursor)."""
        query = _dead_letters(stage, None)
        total = await self.store.jobs.count_documents(query)
        if cursor:
            finished_at, job_id = _position(cursor)
            # A range on the sort key keeps the index order; the few jobs that finished in the
            # same millisecond and came before the cursor are filtered out.
            query = {
                **query,
                "finished_at": {"$lte": finished_at},
                "$nor": [{"finished_at": finished_at, "_id": {"$gte": job_id}}],
            }
        found = self.store.jobs.find(query, sort=NEWEST_FIRST, limit=limit + 1)
        page = await found.to_list(None)
        last = page[limit - 1] if len(page) > limit else None
        next_cursor = encode_cursor(iso(last["finished_at"]), last["_id"]) if last else None
        return page[:limit], total, next_cursor

    async def requeue(self, job_id: str) -> Job:
        """A dead letter goes back to the queue at the stage it failed in, runs reset."""
        try:
            changed = await self.store.requeue(job_id, OPERATOR)
        except DuplicateKeyError:
            raise NotAllowed(
                "The app already has a queued or processing job; requeue it after that one",
                await self.store.get(job_id),
            ) from None
        if changed is None:
            job = await self.store.get(job_id)
            raise NotAllowed("Only a job in error (a dead letter) can be requeued", job)
        return changed

    async def requeue_many(
        self, stage: Stage | None, job_ids: list[str] | None
    ) -> tuple[list[str], list[dict[str, str]]]:
        """Requeue dead letters by stage and/or id: (requeued ids, skipped with reasons)."""
        query = _dead_letters(stage, job_ids)
        found = self.store.jobs.find(query, projection={"_id": 1}, sort=NEWEST_FIRST)
        candidates = [j["_id"] for j in await found.to_list(None)]
        requeued, skipped = [], []
        for job_id in candidates:
            try:
                requeued.append((await self.requeue(job_id))["_id"])
            except NotAllowed as refused:
                skipped.append({"job_id": job_id, "reason": refused.message})
        for job_id in job_ids or []:
            if job_id not in candidates:
                skipped.append({"job_id": job_id, "reason": "not a dead letter (or no such job)"})
        return requeued, skipped

    async def cancel(self, job_id: str) -> Job:
        """Any job not yet completed becomes cancelled; its worker's next call gets 409."""
        for _ in range(5):
            changed = await self.store.cancel(job_id, OPERATOR)
            if changed is not None:
                return changed
            job = await self.store.get(job_id)
            if job["status"] == Status.CANCELLED:
                return job
            if job["status"] == Status.COMPLETED:
                raise NotAllowed("A completed job cannot be cancelled", job)
        raise QueueError("The job changed while cancelling it; try again", {"job_id": job_id})


def _dead_letters(stage: Stage | None, job_ids: list[str] | None) -> dict[str, Any]:
    """Jobs in error, at a stage or at either work stage (an `$in`, so the index gives the
    newest-first order)."""
    query: dict[str, Any] = {
        "status": Status.ERROR,
        "stage": stage if stage is not None else {"$in": [s.value for s in WORK_STAGES]},
    }
    if job_ids is not None:
        query["_id"] = {"$in": job_ids}
    return query


def _position(cursor: str) -> tuple[datetime, str]:
    finished_at, job_id = decode_cursor(cursor, parts=2)
    try:
        return as_utc(datetime.fromisoformat(finished_at.replace("Z", "+00:00"))), job_id
    except (ValueError, OverflowError):  # not a time, or one that leaves the range in UTC
        raise InvalidField("cursor", "Not a cursor this listing gave out") from None
