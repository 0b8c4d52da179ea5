"""Prometheus metrics, served at GET /metrics through Litestar's Prometheus plugin.

- HTTP: the plugin's middleware counts requests and times them per route template
  (`review_queue_http_requests_total`, `review_queue_http_request_duration_seconds`, ...).
- Gauges read at scrape time, from one aggregation of the active jobs (`active_by_age`):
  `review_queue_jobs{stage, status}` (queued: claimable now; delayed; processing) and
  `review_queue_oldest_claimable_seconds{stage}` (0 when nothing is claimable).
- Counters and histograms fed by the store's listeners as each change is written (no I/O):
  `review_queue_state_changes_total{event, stage, status}` (the state it led to),
  `review_queue_wait_seconds{stage}` (claimable until claimed) and
  `review_queue_processing_seconds{stage, outcome}` (claimed until the run ended: finished,
  failed, or released).

The counters and histograms count what this process wrote: sum them over the service's
replicas. Each app has a registry of its own (the HTTP metrics are process-wide).
"""

from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from service.clock import as_utc
from service.domain import RAN_AT, RUN_OUTCOMES, WORK_STAGE_NAMES, Event, Stage, State, Status
from service.store import JobStore

SECONDS = (0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
HTTP_PREFIX = "review_queue_http"
GAUGE_STATUSES = ("queued", "delayed", "processing")  # queued: claimable now


class QueueMetrics:
    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.registry = CollectorRegistry()
        registry = self.registry
        self.changes = Counter(
            "review_queue_state_changes",
            "State changes written by this process, by event and the state it led to",
            ["event", "stage", "status"],
            registry=registry,
        )
        self.wait = Histogram(
            "review_queue_wait_seconds",
            "How long a job was claimable before a worker claimed it",
            ["stage"],
            buckets=SECONDS,
            registry=registry,
        )
        self.processing = Histogram(
            "review_queue_processing_seconds",
            "How long a stage run took, from its claim to its end",
            ["stage", "outcome"],
            buckets=SECONDS,
            registry=registry,
        )
        self.jobs = Gauge(
            "review_queue_jobs",
            "Active jobs by stage and status (queued: claimable now), read at scrape time",
            ["stage", "status"],
            registry=registry,
        )
        self.oldest = Gauge(
            "review_queue_oldest_claimable_seconds",
            "How long the job that has waited longest has been claimable (0: none)",
            ["stage"],
            registry=registry,
        )
        store.on_change.append(self.changed)

    def changed(self, job: dict[str, Any], row: dict[str, Any]) -> None:
        """A store listener: count the change; time the wait or the run it ended."""
        event, stage = row["event"], row["stage"]
        self.changes.labels(event, stage, row["status"]).inc()
        if event == Event.CLAIMED:
            waited = _seconds(job.get("available_at"), job.get("claimed_at"))
            if waited is not None:
                self.wait.labels(stage).observe(waited)
            return
        outcome = RUN_OUTCOMES.get(event)  # an Event is the str it stands for
        ran_at = RAN_AT.get((event, State(Stage(stage), Status(row["status"]))))
        if outcome is None or ran_at is None:
            return
        took = _seconds(job.get("claimed_at"), job.get("updated_at"))
        if took is not None:
            self.processing.labels(ran_at, outcome).observe(took)

    async def exposition(self) -> bytes:
        """The text format: the process-wide metrics (HTTP, process) and this app's, with the
        gauges read now."""
        now = self.store.now()
        active = await self.store.active_by_stage(now)
        for stage in WORK_STAGE_NAMES:
            counts = active[stage]
            for status in GAUGE_STATUSES:
                self.jobs.labels(stage, status).set(getattr(counts, status))
            self.oldest.labels(stage).set(counts.oldest_age(now) or 0)
        return generate_latest(REGISTRY) + generate_latest(self.registry)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (as_utc(end) - as_utc(start)).total_seconds())
