"""Recurring schedules: stored in `schedules`, fired by a periodic sweep on every replica.

A schedule keeps its next firing time in `next_run_at` (None while paused). The sweep finds the
schedules that came due through the `schedules_due` index, and fires each one:

1. it claims the firing with a compare-and-set on `next_run_at`: the update is filtered on the
   due time it read and moves `next_run_at` to the first firing after now. Of several replicas
   that read the same due schedule, exactly one matches; the others find it moved on and skip
   it. Firings missed while no service ran are made up once: the next time is computed from
   now, not from the missed one.
2. it adds a run with `/queue/add`'s meaning (`JobStore.add`): an active run means this
   firing is skipped (`queued_already`);
3. it records the outcome on the schedule (`last_run_at`, `last_result`, `last_job_id`,
   `last_error`), filtered on the due time it fired for, so a late writer cannot overwrite a
   newer firing's outcome.

A firing whose add fails (the store stops answering between 1 and 2) is not retried: the
schedule fires again at its next time, and `last_error` says what happened if it could be
written.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pymongo
from bson import ObjectId

from service import cron
from service.adding import ADD_STATUS
from service.cursor import decode_cursor, encode_cursor
from service.db import PRIMARY
from service.domain import NotFound, QueueError
from service.store import JobStore

log = logging.getLogger(__name__)

DUE_ORDER = [("next_run_at", 1), ("_id", 1)]
BY_ID = [("_id", 1)]
DUE_BATCH = 100  # schedules fired per query of the sweep
MAX_BATCHES = 10  # per sweep; the rest wait for the next one
AFTER = pymongo.ReturnDocument.AFTER


class ScheduleNotFound(NotFound):
    def __init__(self, schedule_id: str) -> None:
        super().__init__("No such schedule", {"schedule_id": schedule_id})


@dataclass(frozen=True)
class Firing:
    schedule_id: str
    app_id: str
    due_at: datetime
    result: str
    job_id: str | None


class ScheduleStore:
    def __init__(self, database: Any, store: JobStore) -> None:
        self.schedules = database.get_collection("schedules", **PRIMARY)
        self.store = store  # adds the runs; its clock is the schedules' clock

    # The API

    async def create(self, fields: dict[str, Any]) -> dict:
        """A new schedule from a validated body; its first run is the next firing after now.
        cron.CronError when the expression or the time zone cannot be used."""
        now = self.store.now()
        doc = {
            "_id": str(ObjectId()),
            **fields,
            "paused": False,
            "next_run_at": cron.validate(fields["cron"], fields["timezone"], now),
            "created_at": now,
            "updated_at": now,
            "runs": 0,
            "last_run_at": None,
            "last_due_at": None,
            "last_result": None,
            "last_job_id": None,
            "last_error": None,
        }
        await self.schedules.insert_one(doc)
        return doc

    async def get(self, schedule_id: str) -> dict:
        doc = await self.schedules.find_one({"_id": schedule_id})
        if doc is None:
            raise ScheduleNotFound(schedule_id)
        return doc

    async def page(
        self, app_id: str | None, cursor: str | None, limit: int
    ) -> tuple[list[dict], str | None]:
        """Schedules by id, of one app or all, after where `cursor` (a page's next_cursor)
        says: (the page, the next page's cursor or None)."""
        after = decode_cursor(cursor, parts=1)[0] if cursor is not None else ""
        query: dict[str, Any] = {"_id": {"$gt": after}}
        if app_id is not None:
            query["app_id"] = app_id
        found = await self.schedules.find(query, sort=BY_ID, limit=limit + 1).to_list(None)
        page = found[:limit]
        return page, encode_cursor(page[-1]["_id"]) if len(found) > limit else None

    async def change(self, schedule_id: str, changes: dict[str, Any]) -> dict:
        """Change fields; a new cron or time zone computes the next run anew (a paused schedule
        stays paused): read, then a compare-and-set on what was read, again if it moved. Other
        fields are set in one command."""
        if not {"cron", "timezone"} & changes.keys():
            changed = await self.schedules.find_one_and_update(
                {"_id": schedule_id},
                {"$set": {**changes, "updated_at": self.store.now()}},
                return_document=AFTER,
            )
            if changed is None:
                raise ScheduleNotFound(schedule_id)
            return changed
        for _ in range(5):
            doc = await self.get(schedule_id)
            now = self.store.now()
            fields = {**changes, "updated_at": now}
            expression = changes.get("cron", doc["cron"])
            timezone = changes.get("timezone", doc["timezone"])
            following = cron.validate(expression, timezone, now)
            if not doc["paused"]:
                fields["next_run_at"] = following
            expected = {
                "_id": schedule_id,
                "cron": doc["cron"],
                "timezone": doc["timezone"],
                "paused": doc["paused"],
            }
            changed = await self.schedules.find_one_and_update(
                expected, {"$set": fields}, return_document=AFTER
            )
            if changed is not None:
                return changed
        raise QueueError("The schedule changed meanwhile; try again", {"schedule_id": schedule_id})

    async def pause(self, schedule_id: str) -> dict:
        """No more firings until it is resumed; pausing a paused schedule changes nothing."""
        paused = await self.schedules.find_one_and_update(
            {"_id": schedule_id, "paused": False},
            {"$set": {"paused": True, "next_run_at": None, "updated_at": self.store.now()}},
            return_document=AFTER,
        )
        return paused if paused is not None else await self.get(schedule_id)

    async def resume(self, schedule_id: str) -> dict:
        """Fires again from its next time after now (what it missed while paused is not made
        up); resuming a running schedule changes nothing."""
        for _ in range(5):
            doc = await self.get(schedule_id)
            if not doc["paused"]:
                return doc
            now = self.store.now()
            resumed = await self.schedules.find_one_and_update(
                {
                    "_id": schedule_id,
                    "paused": True,
                    "cron": doc["cron"],
                    "timezone": doc["timezone"],
                },
                {
                    "$set": {
                        "paused": False,
                        "next_run_at": cron.validate(doc["cron"], doc["timezone"], now),
                        "updated_at": now,
                    }
                },
                return_document=AFTER,
            )
            if resumed is not None:
                return resumed
        raise QueueError("The schedule changed meanwhile; try again", {"schedule_id": schedule_id})

    async def delete(self, schedule_id: str) -> dict:
        deleted = await self.schedules.find_one_and_delete({"_id": schedule_id})
        if deleted is None:
            raise ScheduleNotFound(schedule_id)
        return deleted

    # The sweep

    async def fire_due(self) -> list[Firing]:
        """Fire every schedule that came due (up to DUE_BATCH x MAX_BATCHES per sweep)."""
        firings: list[Firing] = []
        for _ in range(MAX_BATCHES):
            now = self.store.now()
            due = await self.schedules.find(
                {"next_run_at": {"$lte": now}}, sort=DUE_ORDER, limit=DUE_BATCH
            ).to_list(None)
            for schedule in due:
                firing = await self.fire(schedule, now)
                if firing is not None:
                    firings.append(firing)
            if len(due) < DUE_BATCH:
                break
        return firings

    async def fire(self, schedule: dict, now: datetime) -> Firing | None:
        """Fire one due schedule, unless another sweep fired it first (None then)."""
        due_at = schedule["next_run_at"]
        try:
            following = cron.next_after(cron.trigger(schedule["cron"], schedule["timezone"]), now)
        except cron.CronError as exc:  # stored before a rule changed: stop it, say why
            log.error("Schedule %s cannot fire: %s; pausing it", schedule["_id"], exc.reason)
            await self.schedules.update_one(
                {"_id": schedule["_id"], "next_run_at": due_at},
                {"$set": {"paused": True, "next_run_at": None, "last_error": exc.reason}},
            )
            return None
        claimed = await self.claim_firing(schedule, due_at, following)
        if claimed is None:
            return None  # another replica fired it, or it was paused, changed or deleted
        result, job_id, error = await self._add(claimed)
        await self.schedules.update_one(
            {"_id": claimed["_id"], "last_due_at": due_at},
            {
                "$set": {
                    "last_run_at": now,
                    "last_result": result,
                    "last_job_id": job_id,
                    "last_error": error,
                }
            },
        )
        log.info(
            "Schedule %s fired for %s (due %s): %s%s",
            claimed["_id"],
            claimed["app_id"],
            due_at,
            result,
            f" {job_id}" if job_id else f" ({error})" if error else "",
        )
        return Firing(claimed["_id"], claimed["app_id"], due_at, result, job_id)

    async def claim_firing(
        self, schedule: dict, due_at: datetime, following: datetime | None
    ) -> dict | None:
        """The compare-and-set that makes one sweep, of all replicas, fire this due time: the
        update matches only while `next_run_at` is still the due time that was read."""
        return await self.schedules.find_one_and_update(
            {"_id": schedule["_id"], "next_run_at": due_at},
            {"$set": {"next_run_at": following, "last_due_at": due_at}, "$inc": {"runs": 1}},
            return_document=AFTER,
        )

    async def _add(self, schedule: dict) -> tuple[str, str | None, str | None]:
        """(last_result, job id, error) of the run this firing adds."""
        try:
            outcome, job = await self.store.add(
                schedule["app_id"],
                priority=schedule["priority"],
                params=schedule.get("params") or {},
                force=schedule["force"],
                max_retries=schedule.get("max_retries"),
            )
        except QueueError as exc:
            return "failed", None, exc.message
        except Exception as exc:  # the store stopped answering: logged, the sweep goes on
            log.exception("Schedule %s could not add its run", schedule["_id"])
            return "failed", None, f"{type(exc).__name__}: {exc}"[:500]
        return ADD_STATUS[outcome], job["_id"], None
