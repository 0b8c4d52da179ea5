"""The daily overview report: what a day of the queue looked like, from `job_history`.

A day is a date in `REVIEW_QUEUE_TIMEZONE`, from its midnight to the next (23 to 25 hours
around a change of clocks). Its report holds:

- the jobs added, completed, failed (dead letters, by stage, with the most common error
  messages), cancelled, requeued, retried, released and whose lease expired: counted from the
  day's history rows by their event;
- per stage, the wait (queued to claimed: a `claimed` row and the row before it) and the
  processing time (claimed to finished: a row that ends a run with an outcome, and the
  `claimed` row before it) as nearest-rank p50, p90, p99 and max, computed here in Python
  (MongoDB's `$percentile` needs 7.0; this stays correct on 6.0);
- jobs added, completed and failed per hour;
- the apps whose job completed that day, with the review count and sentiment split of that
  job's summary (none when a later run has replaced the app's summary);
- the backlog (queued and processing jobs) at the end of the day, each job's state at that
  moment being its last history row before it.

`daily_reports` holds one document per date, `_id` = the date. The scheduler stores the day
that just ended at `REVIEW_QUEUE_REPORT_TIME`; every replica of the service may do so at the
same moment, and each writes the same document by a replace keyed on the date (an upsert), so
there is still one per date. `GET /reports/daily/{date}` computes and stores a past day that
has none; today's report is never stored, and is computed at most once every
TODAY_FRESH_SECONDS per process (the dashboard polls it; it reads all of the day's history).
"""

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.errors import DuplicateKeyError

from service.clock import as_utc, day_bounds, iso, utcnow
from service.db import PRIMARY
from service.domain import WORK_STAGE_NAMES, Event, InvalidField, NotFound, Status
from service.fresh import Fresh
from service.store import JobStore, StageActive

# A run that ended with an outcome: the stage done, the job done, failed, or failed and queued
# again. (A run released unfinished, cancelled or whose lease expired measures no work.)
MEASURED_RUN_ENDS = {
    Event.STAGE_FINISHED, Event.COMPLETED, Event.FAILED, Event.RETRY_SCHEDULED
}  # fmt: skip
BATCH = 100  # ids per `$in` query
TOP_ERRORS = 10
MESSAGE_CHARACTERS = 300
HISTORY_FIELDS = {"lease_token": 0}
TIME_ORDER = [("timestamp", 1), ("_id", 1)]
LIST_ORDER = [("_id", -1)]
DATE_FORMAT = "YYYY-MM-DD"
FIRST_DAY = date(1970, 1, 1)
TODAY_FRESH_SECONDS = 5.0


class ReportGone(NotFound):
    """A past day with no stored report, whose history retention has already deleted: a 404."""


def percentiles(values: Iterable[float]) -> dict[str, Any] | None:
    """Nearest-rank p50, p90, p99 and the max, in seconds (3 decimals); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None

    def rank(p: int) -> float:
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 3)

    return {
        "count": len(ordered),
        "p50": rank(50),
        "p90": rank(90),
        "p99": rank(99),
        "max": round(ordered[-1], 3),
    }


def parse_day(value: str, field: str = "date") -> date:
    """A YYYY-MM-DD date from 1970 on (no job is older, and the first days of year 1 have no
    midnight in a time zone ahead of UTC); a 422 naming `field` otherwise."""
    try:
        if len(value) != len(DATE_FORMAT):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidField(field, f"Not a date: {DATE_FORMAT} (or 'today')") from None
    if day < FIRST_DAY:
        raise InvalidField(field, f"Before {FIRST_DAY}: no job is that old")
    return day


class ReportStore:
    def __init__(
        self,
        database: Any,
        store: JobStore,
        *,
        timezone: str = "UTC",
        retention_days: int | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.reports = database.get_collection("daily_reports", **PRIMARY)
        self.summaries = database.get_collection("summaries", **PRIMARY)
        self._store = store
        self.zone = ZoneInfo(timezone)
        self._retention_days = retention_days
        self._clock = clock
        self._today: Fresh[dict[str, Any]] = Fresh(
            TODAY_FRESH_SECONDS, clock=lambda: clock().timestamp()
        )

    def today(self) -> date:
        return self._clock().astimezone(self.zone).date()

    # Reading

    async def listing(self, limit: int, before: date | None = None) -> list[dict[str, Any]]:
        """Stored reports, newest first (a few fields of each)."""
        bound = before.isoformat() if before else "9999-12-31~"  # after every date
        fields = {"generated_at": 1, "complete": 1, "jobs": 1}
        found = self.reports.find(
            {"_id": {"$lt": bound}}, projection=fields, sort=LIST_ORDER, limit=limit
        )
        return await found.to_list(None)

    async def report(self, day: date) -> tuple[dict[str, Any], str]:
        """(the report of `day`, where it came from: stored, computed or today)."""
        today = self.today()
        if day > today:
            raise InvalidField(
                "date", f"{day} is in the future: today is {today} in {self.zone.key}"
            )
        if day == today:
            return await self._today.get(day, lambda: self.compute(day)), "today"
        stored = await self.reports.find_one({"_id": day.isoformat()})
        if stored is not None:
            return stored, "stored"
        if not self.history_kept(day):
            raise ReportGone(
                f"No report of {day} was stored, and its history is no longer kept "
                f"(REVIEW_QUEUE_RETENTION_DAYS is {self._retention_days})",
                {"date": day.isoformat(), "retention_days": self._retention_days},
            )
        return await self.store(day), "computed"

    def history_kept(self, day: date) -> bool:
        """Whether retention has yet to delete any of the day's history rows."""
        if not self._retention_days:
            return True
        start, _ = day_bounds(day, self.zone)
        return self._clock() < start + timedelta(days=self._retention_days)

    # Writing: one document per date, whoever writes it

    async def store(self, day: date) -> dict[str, Any]:
        """Compute a finished day's report and store it under its date (replacing any)."""
        doc = await self.compute(day)
        for attempt in range(2):
            try:
                await self.reports.replace_one({"_id": doc["_id"]}, doc, upsert=True)
                break
            except DuplicateKeyError:  # another replica inserted it at the same moment
                if attempt:
                    raise
        return doc

    async def store_previous_day(self) -> dict[str, Any]:
        """The scheduled job: the report of the day that just ended."""
        return await self.store(self.today() - timedelta(days=1))

    # Computing

    async def compute(self, day: date) -> dict[str, Any]:
        now = self._clock()
        start, end = day_bounds(day, self.zone)
        complete = now >= end
        until = end if complete else now
        rows = await self._rows_between(start, until)
        by_job: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_job[row["job_id"]].append(row)
        for job_rows in by_job.values():
            job_rows.sort(key=lambda r: r["version"])

        # The rows before the day that the first row of a job's day is measured from, and
        # (for a finished day) the history of the jobs that may have been waiting at its end.
        wanted = {
            job_id
            for job_id, job_rows in by_job.items()
            if job_rows[0]["version"] > 1 and _measured(job_rows[0])
        }
        candidates = await self._backlog_candidates(end) if complete else set()
        earlier = await self._rows_of(wanted | candidates)

        counts = Counter(row["event"] for row in rows)
        failed = [row for row in rows if row["status"] == Status.ERROR]
        return {
            "_id": day.isoformat(),
            "date": day.isoformat(),
            "timezone": self.zone.key,
            "start": iso(start),
            "end": iso(end),
            "complete": complete,
            "generated_at": iso(now),
            "jobs": {
                "added": counts[Event.CREATED],
                "completed": counts[Event.COMPLETED],
                "failed": len(failed),
                "cancelled": counts[Event.CANCELLED],
                "requeued": counts[Event.REQUEUED],
                "retried": counts[Event.RETRY_SCHEDULED],
                "released": counts[Event.RELEASED],
                "lease_expired": counts[Event.LEASE_EXPIRED],
            },
            "failures": _failures(failed),
            "stages": _stage_times(by_job, earlier),
            "per_hour": self._per_hour(rows, start, end),
            "apps_completed": await self._apps_completed(rows),
            "backlog": (
                _backlog_at(end, candidates, earlier)
                if complete
                else _backlog_now(now, await self._store.active_by_stage(now))
            ),
        }

    async def _rows_between(self, start: datetime, end: datetime) -> list[dict]:
        query = {"timestamp": {"$gte": start, "$lt": end}}
        found = self._store.history.find(query, projection=HISTORY_FIELDS, sort=TIME_ORDER)
        rows = await found.to_list(None)
        for row in rows:
            row["timestamp"] = as_utc(row["timestamp"])
        return rows

    async def _rows_of(self, job_ids: set[str]) -> dict[str, dict[int, dict]]:
        """Every history row of these jobs: {job_id: {version: row}}, BATCH jobs a query."""
        found: dict[str, dict[int, dict]] = defaultdict(dict)
        ids = sorted(job_ids)
        for first in range(0, len(ids), BATCH):
            query = {"job_id": {"$in": ids[first : first + BATCH]}}
            batch = self._store.history.find(query, projection=HISTORY_FIELDS)
            for row in await batch.to_list(None):
                row["timestamp"] = as_utc(row["timestamp"])
                found[row["job_id"]][row["version"]] = row
        return found

    async def _backlog_candidates(self, end: datetime) -> set[str]:
        """Jobs that may have been queued or processing at `end`: those added before it that
        are active now or finished since. (Served by the indexes of the overview.)"""
        active = self._store.jobs.find(
            {"active": True, "requested_at": {"$lt": end}}, projection={"_id": 1}
        )
        ids = {job["_id"] for job in await active.to_list(None)}
        since = self._store.jobs.find(
            JobStore.finished_since(end), projection={"_id": 1, "requested_at": 1}
        )
        for job in await since.to_list(None):
            if as_utc(job["requested_at"]) < end:
                ids.add(job["_id"])
        return ids

    async def _apps_completed(self, rows: list[dict]) -> list[dict[str, Any]]:
        completed = [row for row in rows if row["event"] == Event.COMPLETED]
        app_ids = sorted({row["app_id"] for row in completed})
        summaries: dict[str, dict] = {}
        fields = {"job_id": 1, "review_count": 1, "average_rating": 1, "sentiment": 1}
        for first in range(0, len(app_ids), BATCH):
            query = {"_id": {"$in": app_ids[first : first + BATCH]}}
            for doc in await self.summaries.find(query, projection=fields).to_list(None):
                summaries[doc["_id"]] = doc
        apps = []
        for row in completed:
            entry: dict[str, Any] = {
                "app_id": row["app_id"],
                "job_id": row["job_id"],
                "completed_at": iso(row["timestamp"]),
                "review_count": None,
                "average_rating": None,
                "sentiment": None,
            }
            summary = summaries.get(row["app_id"])
            if summary is not None and summary.get("job_id") == row["job_id"]:
                sentiment = summary.get("sentiment") or {}
                entry["review_count"] = summary.get("review_count")
                entry["average_rating"] = summary.get("average_rating")
                entry["sentiment"] = {
                    label: sentiment.get(label, 0) for label in ("positive", "neutral", "negative")
                }
            apps.append(entry)
        return apps

    def _per_hour(self, rows: list[dict], start: datetime, end: datetime) -> list[dict]:
        hours = int((end - start).total_seconds() // 3600)
        table = [
            {
                "hour": (start + timedelta(hours=h)).astimezone(self.zone).strftime("%H:%M"),
                "start": iso(start + timedelta(hours=h)),
                "added": 0,
                "completed": 0,
                "failed": 0,
            }
            for h in range(hours)
        ]
        for row in rows:
            slot = table[min(hours - 1, int((row["timestamp"] - start).total_seconds() // 3600))]
            if row["event"] == Event.CREATED:
                slot["added"] += 1
            elif row["event"] == Event.COMPLETED:
                slot["completed"] += 1
            if row["status"] == Status.ERROR:
                slot["failed"] += 1
        return table


def _measured(row: dict) -> bool:
    """Whether a row ends a wait or a run, so the row before it is needed."""
    return row["event"] == Event.CLAIMED or row["event"] in MEASURED_RUN_ENDS


def _stage_times(
    by_job: dict[str, list[dict]], earlier: dict[str, dict[int, dict]]
) -> dict[str, dict[str, Any]]:
    waits: dict[str, list[float]] = {stage: [] for stage in WORK_STAGE_NAMES}
    runs: dict[str, list[float]] = {stage: [] for stage in WORK_STAGE_NAMES}
    for job_id, rows in by_job.items():
        by_version = {**earlier.get(job_id, {}), **{row["version"]: row for row in rows}}
        for row in rows:
            before = by_version.get(row["version"] - 1)
            if before is None:
                continue
            took = (row["timestamp"] - before["timestamp"]).total_seconds()
            if row["event"] == Event.CLAIMED and row["stage"] in waits:
                waits[row["stage"]].append(took)
            elif (
                row["event"] in MEASURED_RUN_ENDS
                and before["event"] == Event.CLAIMED
                and before["stage"] in runs
            ):
                runs[before["stage"]].append(took)
    return {
        stage: {"wait": percentiles(waits[stage]), "processing": percentiles(runs[stage])}
        for stage in WORK_STAGE_NAMES
    }


def _failures(failed: list[dict]) -> dict[str, Any]:
    by_stage = Counter(row["stage"] for row in failed)
    messages = Counter(
        (row["stage"], (row.get("error_message") or "(no message)")[:MESSAGE_CHARACTERS])
        for row in failed
    )
    top = sorted(messages.items(), key=lambda item: (-item[1], item[0]))[:TOP_ERRORS]
    return {
        "by_stage": {stage: by_stage.get(stage, 0) for stage in WORK_STAGE_NAMES},
        "top_errors": [
            {"stage": stage, "message": message, "count": n} for (stage, message), n in top
        ],
    }


def _empty_backlog() -> dict[str, dict[str, int]]:
    return {
        stage: {Status.QUEUED.value: 0, Status.PROCESSING.value: 0} for stage in WORK_STAGE_NAMES
    }


def _backlog_at(
    end: datetime, candidates: set[str], rows: dict[str, dict[int, dict]]
) -> dict[str, Any]:
    """Each candidate's state at `end` is its last history row before it."""
    by_stage = _empty_backlog()
    for job_id in candidates:
        before = [row for row in rows.get(job_id, {}).values() if row["timestamp"] < end]
        if not before:
            continue
        last = max(before, key=lambda row: row["version"])
        if last["status"] in (Status.QUEUED, Status.PROCESSING) and last["stage"] in by_stage:
            by_stage[last["stage"]][last["status"]] += 1
    total = sum(n for statuses in by_stage.values() for n in statuses.values())
    return {"at": iso(end), "total": total, "by_stage": by_stage}


def _backlog_now(now: datetime, active: dict[str, StageActive]) -> dict[str, Any]:
    """The backlog as it stands: a job still backing off is queued too."""
    by_stage = _empty_backlog()
    for stage, at_stage in active.items():
        if stage in by_stage:
            by_stage[stage][Status.QUEUED.value] = at_stage.queued + at_stage.delayed
            by_stage[stage][Status.PROCESSING.value] = at_stage.processing
    total = sum(n for statuses in by_stage.values() for n in statuses.values())
    return {"at": iso(now), "total": total, "by_stage": by_stage}
