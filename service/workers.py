"""The `workers` collection: who claims and heartbeats, with what version and capabilities.

A worker's document is written on its claims (`POST /queue/poll`, and a claim through
`/queue/{job_id}/update`) and on its heartbeats, but at most once every `SEEN_EVERY` seconds
per worker by each service process, unless what the worker says about itself changed (a new
stage, version, capabilities, host or lease length). So a heartbeat costs no extra round trip
but once in a while, and a busy worker's claims cost one write per few seconds, not one each.

`last_seen` is therefore up to `SEEN_EVERY` seconds old; a worker is gone when it has not been
seen for three lease lengths (and never sooner than three times `SEEN_EVERY`).
"""

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import PyMongoError

from service.clock import as_utc
from service.db import PRIMARY
from service.domain import Status
from service.store import JobStore

log = logging.getLogger(__name__)

SEEN_EVERY = 5.0  # seconds between writes of one worker's document, per process
GONE_AFTER_LEASES = 3
REMEMBERED = 10_000  # workers whose last write this process remembers
LISTED_FOR = timedelta(days=1)  # GET /workers lists the workers seen in the last day
NEWEST_FIRST = [("last_seen", -1), ("_id", -1)]


@dataclass(frozen=True)
class Claimant:
    """What a worker says about itself with a claim."""

    worker_id: str
    stage: str
    version: str | None = None
    capabilities: tuple[str, ...] | None = None
    host: str | None = None
    lease_seconds: int | None = None


@dataclass
class _Written:
    """What this process last wrote of a worker, and when."""

    when: datetime
    stages: frozenset[str]
    fields: dict[str, Any]


class WorkerRegistry:
    def __init__(self, database: Any, store: JobStore) -> None:
        self.workers = database.get_collection("workers", **PRIMARY)
        self._store = store  # its clock (tests move it)
        self._written: OrderedDict[str, _Written] = OrderedDict()

    async def claimed(self, claimant: Claimant) -> None:
        """A worker claimed (or asked for work): remember it, unless it was written lately and
        says nothing new."""
        fields: dict[str, Any] = {}
        for name in ("version", "host", "lease_seconds"):
            if getattr(claimant, name) is not None:
                fields[name] = getattr(claimant, name)
        if claimant.capabilities is not None:
            fields["capabilities"] = list(claimant.capabilities)
        await self._seen(claimant.worker_id, claimant.stage, fields)

    async def heartbeat(self, worker_id: str | None, stage: str) -> None:
        """A worker extended a lease: at most one write per SEEN_EVERY seconds."""
        if worker_id:
            await self._seen(worker_id, stage, {})

    async def _seen(self, worker_id: str, stage: str, fields: dict[str, Any]) -> None:
        now = self._store.now()
        last = self._written.get(worker_id)
        if last is not None and (now - last.when).total_seconds() < SEEN_EVERY:
            says_new = stage not in last.stages or any(
                last.fields.get(name) != value for name, value in fields.items()
            )
            if not says_new:
                return
        update = {
            "$set": {**fields, "last_seen": now},
            "$addToSet": {"stages": stage},
            "$setOnInsert": {"first_seen": now},
        }
        try:
            await self.workers.update_one({"_id": worker_id}, update, upsert=True)
        except PyMongoError as exc:  # the claim or heartbeat itself went through: keep it
            log.warning("Could not record worker %s: %s", worker_id, exc)
            return
        stages = (last.stages if last else frozenset()) | {stage}
        known = {**(last.fields if last else {}), **fields}
        self._written[worker_id] = _Written(now, stages, known)
        self._written.move_to_end(worker_id)
        while len(self._written) > REMEMBERED:
            self._written.popitem(last=False)

    async def seen_since(self, since: datetime, limit: int | None = None) -> list[dict]:
        """Workers seen since `since`, the most recently seen first."""
        query = {"last_seen": {"$gte": since}}
        found = self.workers.find(query, sort=NEWEST_FIRST, limit=limit or 0)
        return await found.to_list(None)

    async def held_by(self, worker_ids: list[str]) -> dict[str, list[str]]:
        """The jobs each of these workers holds now (processing under its lease)."""
        if not worker_ids:
            return {}
        query = {"status": Status.PROCESSING, "worker_id": {"$in": worker_ids}}
        found = self._store.jobs.find(query, projection={"worker_id": 1})
        held: dict[str, list[str]] = {}
        for job in await found.to_list(None):  # bounded by the jobs processing now
            held.setdefault(job["worker_id"], []).append(job["_id"])
        return {worker: sorted(jobs) for worker, jobs in held.items()}


def gone_after(worker: dict, default_lease_seconds: int) -> timedelta:
    lease = worker.get("lease_seconds") or default_lease_seconds
    return timedelta(seconds=max(GONE_AFTER_LEASES * lease, GONE_AFTER_LEASES * SEEN_EVERY))


def is_live(worker: dict, now: datetime, default_lease_seconds: int) -> bool:
    return now - as_utc(worker["last_seen"]) < gone_after(worker, default_lease_seconds)
