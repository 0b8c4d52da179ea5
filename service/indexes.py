"""Every index the service declares, and how start-up brings a database in line with them.

Each index is laid out by the ESR rule: equality fields first, then the sort keys in the order
the queries sort (the `_id` tie-break included), then ranges. `tests/test_query_plans.py`
checks every query the service sends against this list by the query planner's rules.

An index whose keys or options change gets a new name; its old name goes to `OBSOLETE`, and
start-up drops it, so upgrading a deployment is a restart. The TTL indexes are the exception:
their expiry follows `REVIEW_QUEUE_RETENTION_DAYS` and is changed in place (`collMod`).
"""

import logging
from typing import Any

from pymongo import IndexModel

log = logging.getLogger(__name__)

DAY_SECONDS = 86_400

JOB_INDEXES = [
    # Claims and GET /queue/poll: equality (stage, status), sort, then the range (available_at).
    IndexModel(
        [
            ("stage", 1),
            ("status", 1),
            ("priority", -1),
            ("requested_at", 1),
            ("_id", 1),
            ("available_at", 1),
        ],
        name="claim_order_v2",
    ),
    # An app's current job: its active one if any, else its latest (status, add, summary).
    IndexModel(
        [("app_id", 1), ("active", -1), ("requested_at", -1), ("_id", -1)], name="app_current"
    ),
    # At most one queued or processing job per app: concurrent adds cannot both insert.
    IndexModel(
        [("app_id", 1)],
        name="one_active_job_per_app",
        unique=True,
        partialFilterExpression={"active": True},
    ),
    # The reaper: processing jobs whose lease ran out.
    IndexModel([("status", 1), ("lease_expires_at", 1)], name="lease_expiry"),
    # The overview: active jobs oldest first, and the counts of what is active.
    IndexModel(
        [("active", 1), ("requested_at", 1), ("_id", 1)],
        name="active_by_age",
        partialFilterExpression={"active": True},
    ),
    # Dead letters newest first, and what finished since a time (the day's totals).
    IndexModel(
        [("status", 1), ("stage", 1), ("finished_at", -1), ("_id", -1)], name="finished_by_stage"
    ),
]
HISTORY_INDEXES = [
    # A job's history in the order it happened; `version` is unique per job.
    IndexModel([("job_id", 1), ("version", 1)], name="history_by_job", unique=True),
    # Runs that ended since a time, by event (stats, health, each worker's day).
    IndexModel([("event", 1), ("timestamp", 1)], name="history_by_event"),
    # A day's rows in the order they were written: the daily report. (Not `timestamp` alone:
    # the TTL index has that key, and two indexes may not share a key pattern.)
    IndexModel([("timestamp", 1), ("_id", 1)], name="history_by_time"),
]
KEY_INDEXES = [
    # Live keys by name: a name (a worker key's worker id) belongs to one live key at a time.
    IndexModel(
        [("active", 1), ("name", 1)],
        name="live_key_names",
        unique=True,
        partialFilterExpression={"active": True},
    ),
]
WORKER_INDEXES = [
    # GET /workers and the health check: the workers seen since a time, the latest first.
    IndexModel([("last_seen", -1), ("_id", -1)], name="workers_by_seen"),
]
SCHEDULE_INDEXES = [
    # The sweep: schedules that came due, the earliest first (a paused one has no next_run_at).
    IndexModel([("next_run_at", 1), ("_id", 1)], name="schedules_due"),
    # GET /schedules?app_id=: one app's schedules by id.
    IndexModel([("app_id", 1), ("_id", 1)], name="schedules_by_app"),
]
REVIEW_INDEXES = [
    # Idempotent uploads, and an app's reviews page by page (equality app_id, sort review_id).
    IndexModel([("app_id", 1), ("review_id", 1)], name="app_review", unique=True),
]

# Retention: a finished job (finished_at set) and a history row (timestamp) expire this long
# after that time. Active jobs have no finished_at, so the TTL monitor never deletes them. A
# worker's record goes that long after the worker was last seen.
TTL_FIELDS = {
    "jobs": ("finished_at", "finished_ttl"),
    "job_history": ("timestamp", "history_ttl"),
    "workers": ("last_seen", "workers_ttl"),
}

# Names earlier versions created, dropped at start-up.
OBSOLETE = {
    "jobs": ["claim_order", "app_latest", "active_jobs", "finished_on"],
    "job_history": ["job_history_order"],
}


def declared(retention_days: int | None) -> dict[str, list[IndexModel]]:
    """The indexes of each collection, the TTL ones included when retention is on."""
    indexes = {
        "jobs": list(JOB_INDEXES),
        "job_history": list(HISTORY_INDEXES),
        "workers": list(WORKER_INDEXES),
    }
    if retention_days:
        for collection, (field, name) in TTL_FIELDS.items():
            ttl = IndexModel(
                [(field, 1)], name=name, expireAfterSeconds=retention_days * DAY_SECONDS
            )
            indexes[collection].append(ttl)
    indexes["reviews"] = list(REVIEW_INDEXES)
    indexes["api_keys"] = list(KEY_INDEXES)
    indexes["schedules"] = list(SCHEDULE_INDEXES)
    return indexes


async def ensure_indexes(database: Any, retention_days: int | None) -> None:
    """Bring the database in line: drop obsolete indexes, fit TTLs, create what is missing."""
    for collection_name, indexes in declared(retention_days).items():
        collection = database[collection_name]
        existing = await collection.index_information()
        for name in OBSOLETE.get(collection_name, []):
            if name in existing:
                log.info("Dropping the obsolete index %s.%s", collection_name, name)
                await collection.drop_index(name)
        ttl_name = TTL_FIELDS.get(collection_name, (None, None))[1]
        if ttl_name in existing:
            await _fit_ttl(database, collection_name, existing[ttl_name], indexes)
        for index in indexes:
            if index.document["name"] != ttl_name or ttl_name not in existing:
                await _create(collection, index)


async def ensure_key_indexes(database: Any) -> None:
    """The `api_keys` indexes alone, for `review-queue keys`: the rest (the TTLs of the
    retention the service was started with among them) is the service's to fit."""
    for index in KEY_INDEXES:
        await _create(database["api_keys"], index)


async def _fit_ttl(database: Any, collection: str, found: dict, indexes: list) -> None:
    """A retention change alters the TTL index in place; retention off drops it."""
    name = TTL_FIELDS[collection][1]
    wanted = next((i.document for i in indexes if i.document["name"] == name), None)
    if wanted is None:
        log.info("Retention is off: dropping the TTL index %s.%s", collection, name)
        await database[collection].drop_index(name)
    elif found.get("expireAfterSeconds") != wanted["expireAfterSeconds"]:
        seconds = wanted["expireAfterSeconds"]
        log.info("Setting %s.%s to expire after %d s", collection, name, seconds)
        await database.command(
            {"collMod": collection, "index": {"name": name, "expireAfterSeconds": seconds}}
        )


async def _create(collection: Any, index: IndexModel) -> None:
    """Create one index (a no-op when it exists as declared). mongomock-motor has no
    create_indexes(IndexModel) of its own, so each goes through create_index."""
    options = {k: v for k, v in index.document.items() if k != "key"}
    await collection.create_index(list(index.document["key"].items()), **options)
