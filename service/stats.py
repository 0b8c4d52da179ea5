"""What the queue holds and what it did lately, for `GET /queue/stats`, `GET /health`,
`GET /metrics` and `GET /workers`. Every figure comes from one of two aggregations, each
bounded by what is active or by what happened since a time, never by all jobs stored:

- `active(now)`: the active jobs by stage (`JobStore.active_by_stage`, which the overview
  uses too);
- `runs_since(...)`: the history rows of runs that ended (the `history_by_event` index) since
  a time, by stage and outcome, or by worker.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from service.clock import naive_utc
from service.db import aggregated
from service.domain import RAN_AT, RUN_OUTCOMES, WORK_STAGE_NAMES, Event
from service.store import JobStore

# A stage run ends with one of these rows: a stage_finished row is the scraper's, a completed
# row the NLP stage's (each leads from one stage only)
FINISHED_EVENTS = {
    event: stage for (event, _), stage in RAN_AT.items() if RUN_OUTCOMES[event] == "finished"
}
FAILED_EVENTS = [event for event, outcome in RUN_OUTCOMES.items() if outcome == "failed"]
RUN_ENDS = [event.value for event in (*FINISHED_EVENTS, *FAILED_EVENTS)]


@dataclass
class StageRuns:
    finished: int = 0
    failed: int = 0
    finished_recently: int = 0
    failed_recently: int = 0


@dataclass
class WorkerRuns:
    finished: int = 0
    failed: int = 0


@dataclass
class Runs:
    by_stage: dict[str, StageRuns] = field(default_factory=dict)


class QueueStats:
    def __init__(self, store: JobStore) -> None:
        self.store = store

    async def runs_since(self, day_start: datetime, recent_since: datetime) -> Runs:
        """Stage runs that ended (finished, or failed: with a retry, for good, or by an expired
        lease) since `day_start`, and since `recent_since` (the last hour, say)."""
        since = min(day_start, recent_since)
        recent, today = naive_utc(recent_since), naive_utc(day_start)
        pipeline = [
            {"$match": _ended_since(since)},
            {
                "$group": {
                    "_id": {"event": "$event", "stage": "$stage"},
                    "today": {"$sum": {"$cond": [{"$gte": ["$timestamp", today]}, 1, 0]}},
                    "recent": {"$sum": {"$cond": [{"$gte": ["$timestamp", recent]}, 1, 0]}},
                }
            },
        ]
        runs = Runs({stage: StageRuns() for stage in WORK_STAGE_NAMES})
        for row in await aggregated(self.store.history, pipeline):
            event, stage = row["_id"]["event"], row["_id"]["stage"]
            if event in FINISHED_EVENTS:
                counts = runs.by_stage.setdefault(FINISHED_EVENTS[Event(event)], StageRuns())
                counts.finished += row["today"]
                counts.finished_recently += row["recent"]
            else:
                counts = runs.by_stage.setdefault(stage, StageRuns())
                counts.failed += row["today"]
                counts.failed_recently += row["recent"]
        return runs

    async def runs_by_worker(self, since: datetime) -> dict[str, WorkerRuns]:
        """Stage runs each worker finished or failed since `since` (today, say)."""
        pipeline = [
            {"$match": _ended_since(since)},
            {"$group": {"_id": {"worker": "$worker_id", "event": "$event"}, "n": {"$sum": 1}}},
        ]
        found: dict[str, WorkerRuns] = {}
        for row in await aggregated(self.store.history, pipeline):
            worker = row["_id"].get("worker")
            if worker is None:
                continue
            counts = found.setdefault(worker, WorkerRuns())
            if row["_id"]["event"] in FINISHED_EVENTS:
                counts.finished += row["n"]
            else:
                counts.failed += row["n"]
        return found


def _ended_since(since: datetime) -> dict[str, Any]:
    return {"event": {"$in": RUN_ENDS}, "timestamp": {"$gte": since}}


def hour_before(now: datetime) -> datetime:
    return now - timedelta(hours=1)
