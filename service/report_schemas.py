"""The daily overview report as the API answers it (msgspec structs: validated and documented).

A stored report is the same document (`daily_reports`, `_id` = its date), so what is stored
and what is served cannot drift apart.
"""

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

Seconds = Annotated[float, Meta(ge=0, description="seconds")]


class Percentiles(Struct):
    """Durations in seconds: nearest-rank percentiles of `count` durations."""

    count: int
    p50: Seconds
    p90: Seconds
    p99: Seconds
    max: Seconds


class StageTimes(Struct):
    wait: Annotated[
        Percentiles | None,
        Meta(description="queued to claimed, for the claims made that day (null: none)"),
    ]
    processing: Annotated[
        Percentiles | None,
        Meta(
            description="claimed to finished (the stage done, failed or retried), for the "
            "runs that ended that day (null: none)"
        ),
    ]


class JobCounts(Struct):
    added: int
    completed: int
    failed: Annotated[int, Meta(description="runs that ended in error (dead letters)")]
    cancelled: int
    requeued: Annotated[int, Meta(description="dead letters an operator sent round again")]
    retried: Annotated[int, Meta(description="failed runs queued again after a backoff")]
    released: Annotated[int, Meta(description="runs a worker handed back unfinished")]
    lease_expired: Annotated[int, Meta(description="runs whose lease ran out (reaper)")]


class ErrorCount(Struct):
    stage: str
    message: Annotated[str, Meta(description="the error message (its first 300 characters)")]
    count: int


class Failures(Struct):
    by_stage: dict[str, int]
    top_errors: Annotated[list[ErrorCount], Meta(description="the most common, most first")]


class Hour(Struct):
    hour: Annotated[str, Meta(description="the hour's local start, HH:MM")]
    start: Annotated[str, Meta(description="the hour's start in UTC")]
    added: int
    completed: int
    failed: int


class Sentiment(Struct):
    positive: int = 0
    neutral: int = 0
    negative: int = 0


class AppCompleted(Struct):
    app_id: str
    job_id: str
    completed_at: str
    review_count: Annotated[
        int | None,
        Meta(description="from the run's summary; null when a later run replaced it"),
    ] = None
    average_rating: float | None = None
    sentiment: Sentiment | None = None


class Backlog(Struct):
    at: Annotated[str, Meta(description="the end of the day (today: now)")]
    total: int
    by_stage: Annotated[
        dict[str, dict[str, int]], Meta(description="stage -> {queued, processing}")
    ]


class DailyReport(Struct):
    date: Annotated[str, Meta(description="YYYY-MM-DD, a day in `timezone`")]
    timezone: str
    start: str
    end: str
    complete: Annotated[bool, Meta(description="false for today: the day so far")]
    generated_at: str
    jobs: JobCounts
    failures: Failures
    stages: Annotated[dict[str, StageTimes], Meta(description="scraper and nlp")]
    per_hour: Annotated[list[Hour], Meta(description="each hour of the day (23 to 25)")]
    apps_completed: list[AppCompleted]
    backlog: Backlog
    source: Annotated[
        Literal["stored", "computed", "today"],
        Meta(
            description="stored: read from daily_reports; computed: a past day that had none, "
            "computed now and stored; today: the day so far, not stored"
        ),
    ] = "stored"


class ReportListing(Struct):
    date: str
    generated_at: str
    complete: bool
    added: int
    completed: int
    failed: int


class ReportList(Struct):
    timezone: str
    today: Annotated[str, Meta(description="today's date in `timezone`")]
    reports: Annotated[list[ReportListing], Meta(description="the stored reports, newest first")]


def daily_report(doc: dict[str, Any], source: str) -> DailyReport:
    fields = {k: v for k, v in doc.items() if k != "_id"}
    return msgspec.convert({**fields, "source": source}, DailyReport)


def listing(doc: dict[str, Any]) -> ReportListing:
    jobs = doc.get("jobs") or {}
    return ReportListing(
        date=doc["_id"],
        generated_at=doc["generated_at"],
        complete=doc.get("complete", True),
        added=jobs.get("added", 0),
        completed=jobs.get("completed", 0),
        failed=jobs.get("failed", 0),
    )
