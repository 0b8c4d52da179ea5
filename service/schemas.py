"""Request and response bodies of the HTTP API (msgspec structs: validated and documented)."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from service.clock import iso
from service.domain import MAX_LEASE_SECONDS, MAX_RETRIES_LIMIT, Stage, Status
from service.limits import MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH, params_problem

APP_ID_PATTERN = r"^[A-Za-z0-9._-]+$"
AppId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=256,
        pattern=APP_ID_PATTERN,
        description="A store package name (com.spotify.music) or a numeric App Store id",
        examples=["com.spotify.music"],
    ),
]
JobId = Annotated[str, Meta(min_length=1, max_length=64)]
WorkerId = Annotated[str, Meta(min_length=1, max_length=200)]
LeaseToken = Annotated[str, Meta(min_length=1, max_length=200)]
Progress = Annotated[float, Meta(ge=0, le=100, description="Percent done, 0..100")]
Message = Annotated[str, Meta(max_length=10_000)]
WorkStage = Literal["scraper", "nlp"]
StageName = Literal["scraper", "nlp", "done"]
StageFilter = Literal["scraper", "nlp", "done", "any"]
StatusFilter = Literal["queued", "processing", "completed", "error", "cancelled", "any"]


Params = Annotated[
    dict[str, Any],
    Meta(
        max_length=100,
        description=f"Parameters for the workers (Google Play: lang, country). At most "
        f"{MAX_PARAMS_BYTES} bytes as JSON and {MAX_PARAMS_DEPTH} levels deep; integers within "
        "64 bits; keys not empty, without NUL, not starting with '$' and without '.'.",
        examples=[{"lang": "en", "country": "us"}],
    ),
]


def invalid(path: str, problem: str) -> ValueError:
    """A check of a struct's __post_init__ that fails: a 422 naming the field at `path`
    (msgspec's own form of a located error, which Litestar reads the field from)."""
    return ValueError(f"{problem} - at `$.{path}`")


# Named priorities (seed 001); a job stores the number.
PRIORITY_NAMES = {"low": 1, "normal": 3, "high": 5, "urgent": 7, "critical": 9}
DEFAULT_PRIORITY = 5
Priority = Annotated[int, Meta(ge=1, le=10)] | Literal[tuple(PRIORITY_NAMES)]
PRIORITY_DESCRIPTION = (
    "1..10 (10 is the most urgent) or a name: "
    + ", ".join(f"{name} ({number})" for name, number in PRIORITY_NAMES.items())
    + ". The job stores the number."
)
MAX_DELAY_DAYS = 365
MAX_DELAY_SECONDS = MAX_DELAY_DAYS * 86_400


def priority_number(priority: int | str) -> int:
    return PRIORITY_NAMES[priority] if isinstance(priority, str) else priority


class AddJob(Struct, forbid_unknown_fields=True):
    app_id: AppId
    priority: Annotated[Priority, Meta(description=PRIORITY_DESCRIPTION)] = DEFAULT_PRIORITY
    params: Params = {}
    force: Annotated[bool, Meta(description="Queue a new run even if the app is done")] = False
    max_retries: (
        Annotated[
            int,
            Meta(
                ge=0,
                le=MAX_RETRIES_LIMIT,
                description="Retries per stage (default REVIEW_QUEUE_MAX_RETRIES)",
            ),
        ]
        | None
    ) = None
    run_at: (
        Annotated[
            datetime,
            Meta(
                tz=True,
                description="Not claimable before this time (ISO-8601 with its zone), at most "
                f"{MAX_DELAY_DAYS} days ahead; a time in the past means now",
            ),
        ]
        | None
    ) = None
    delay_seconds: (
        Annotated[
            float,
            Meta(
                ge=0,
                le=MAX_DELAY_SECONDS,
                description="Not claimable for this many seconds (instead of run_at)",
            ),
        ]
        | None
    ) = None

    def __post_init__(self) -> None:
        self.priority = priority_number(self.priority)
        if found := params_problem(self.params):
            raise invalid(*found)
        if self.run_at is not None and self.delay_seconds is not None:
            raise invalid("run_at", "Give run_at or delay_seconds, not both")
        if self.run_at is not None:
            try:
                self.run_at = self.run_at.astimezone(UTC)
            except (OverflowError, ValueError):
                raise invalid("run_at", "A time that leaves the calendar in UTC") from None


class AddResult(Struct, omit_defaults=True):
    status: Literal["queued", "queued_already", "exists"]
    job_id: str
    stage: str | None = None
    current_status: str | None = None
    message: str | None = None
    available_at: Annotated[
        str | None, Meta(description="A new job's first claimable time (run_at, delay_seconds)")
    ] = None


MAX_BATCH = 100


class AddBatch(Struct, forbid_unknown_fields=True):
    jobs: Annotated[
        list[dict[str, Any]],
        Meta(
            min_length=1,
            max_length=MAX_BATCH,
            description="1..100 add bodies, each as POST /queue/add takes it (AddJob). Each is "
            "checked and added on its own: one that does not fit gets its error in `results`, "
            "the others are added all the same.",
        ),
    ]


class BatchItem(Struct, omit_defaults=True):
    """One item's outcome: what /queue/add would have answered it (`code`, and its body's
    fields), or the error naming the item (`error`, `details`)."""

    index: Annotated[int, Meta(description="The item's position in `jobs`, from 0")]
    code: Annotated[int, Meta(description="The status /queue/add would have answered")]
    status: Literal["queued", "queued_already", "exists", "failed"]
    app_id: str | None = None
    job_id: str | None = None
    stage: str | None = None
    current_status: str | None = None
    message: str | None = None
    available_at: str | None = None
    error: str | None = None
    details: Any = None


class BatchResult(Struct):
    results: Annotated[list[BatchItem], Meta(description="One per item, in order")]
    created: int
    queued_already: int
    exists: int
    failed: int


class Claim(Struct, forbid_unknown_fields=True):
    stage: WorkStage
    worker_id: Annotated[
        WorkerId | None,
        Meta(description="Required, here or as the X-Worker-ID header (422 if neither)"),
    ] = None
    limit: Annotated[int, Meta(ge=1, le=50)] = 1
    lease_seconds: Annotated[int, Meta(ge=1, le=MAX_LEASE_SECONDS)] | None = None
    worker_version: (
        Annotated[str, Meta(min_length=1, max_length=100, description="The worker's version")]
        | None
    ) = None
    capabilities: (
        Annotated[
            list[Annotated[str, Meta(min_length=1, max_length=100)]],
            Meta(max_length=50, description="What the worker can do (sources, languages ...)"),
        ]
        | None
    ) = None
    host: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=255,
                description="Where the worker runs (its host name); the caller's address if "
                "left out",
            ),
        ]
        | None
    ) = None


class Update(Struct, forbid_unknown_fields=True):
    status: Status
    stage: Stage
    lease_token: Annotated[
        LeaseToken | None,
        Meta(
            description="The job's lease token, here or as the X-Lease-Token header: required "
            "on a job processing under a lease (409 without it)"
        ),
    ] = None
    error_message: Message | None = None
    progress: Progress | None = None
    retryable: Annotated[
        bool, Meta(description="With status error: false sends the job straight to dead letters")
    ] = True


class Heartbeat(Struct, forbid_unknown_fields=True):
    lease_token: LeaseToken
    progress: Progress | None = None
    message: Message | None = None


class JobView(Struct, omit_defaults=True):
    job_id: str
    app_id: str
    stage: str
    status: str
    priority: int
    requested_at: str
    updated_at: str
    attempt: int
    retries: int
    params: dict[str, Any] = {}
    max_retries: int | None = None
    available_at: str | None = None
    worker_id: str | None = None
    lease_expires_at: str | None = None
    progress: float | None = None
    progress_message: str | None = None
    error_message: str | None = None
    finished_at: str | None = None


class ClaimedJob(JobView, omit_defaults=True):
    lease_token: str | None = None


class HistoryRow(Struct, omit_defaults=True):
    job_id: str
    app_id: str
    timestamp: str
    stage: str
    status: str
    event: str
    worker_id: str | None = None
    error_message: str | None = None


class Overview(Struct):
    timestamp: str
    active_jobs: Annotated[
        list[JobView], Meta(description="Queued and processing jobs, oldest first")
    ]
    active_total: int
    done_jobs_today: int
    error_jobs_today: int
    counts: Annotated[
        dict[str, dict[str, int]],
        Meta(description="Active jobs by stage and status (queued, delayed, processing)"),
    ]
    finished_today: Annotated[
        dict[str, dict[str, int]],
        Meta(
            description="Jobs that finished today by stage and status (completed, error, cancelled)"
        ),
    ]


class HealthIssue(Struct, omit_defaults=True):
    issue: Annotated[
        Literal["no_live_worker", "oldest_claimable", "failure_share", "backlog"],
        Meta(description="What is wrong"),
    ]
    message: str
    figure: Annotated[
        float,
        Meta(
            description="The measure: claimable jobs (no_live_worker, backlog), seconds "
            "(oldest_claimable), a share 0..1 (failure_share)"
        ),
    ]
    threshold: Annotated[float, Meta(description="The setting the figure went past")]
    stage: str | None = None


class Health(Struct):
    status: Annotated[
        Literal["ok", "degraded"],
        Meta(description="degraded: the store answers but the queue has issues"),
    ]
    store: Literal["mongodb", "embedded"]
    issues: list[HealthIssue]


class ErrorBody(Struct, omit_defaults=True):
    """Every error answer. `details`: the fields at fault, the limit passed, or the request."""

    error: Annotated[str, Meta(description="What went wrong, for a person")]
    details: Any
    retry: Annotated[bool, Meta(description="true when trying again is the right move")] = False


_TIMES = ("requested_at", "updated_at", "available_at", "lease_expires_at", "finished_at")


def _job_fields(job: dict[str, Any]) -> dict[str, Any]:
    fields = {name: job.get(name) for name in JobView.__struct_fields__}
    for name in _TIMES:
        fields[name] = iso(job.get(name))
    fields["params"] = job.get("params") or {}
    return fields


def job_view(job: dict[str, Any]) -> JobView:
    return JobView(**_job_fields(job))


def claimed_job(job: dict[str, Any]) -> ClaimedJob:
    return ClaimedJob(**_job_fields(job), lease_token=job.get("lease_token"))


def history_row(row: dict[str, Any]) -> HistoryRow:
    return HistoryRow(
        job_id=row["job_id"],
        app_id=row["app_id"],
        timestamp=iso(row["timestamp"]),
        stage=row["stage"],
        status=row["status"],
        event=row["event"],
        worker_id=row.get("worker_id"),
        error_message=row.get("error_message"),
    )


class OldestWaiting(Struct):
    """The job that has waited longest at each work stage (queued, backing off or not)."""

    scraper: JobView | None
    nlp: JobView | None


class DeadLetterPage(Struct):
    jobs: list[JobView]
    total: int
    next_cursor: str | None


class BulkRequeue(Struct, forbid_unknown_fields=True):
    stage: WorkStage | None = None
    job_ids: Annotated[list[JobId], Meta(max_length=1000)] | None = None


class Skipped(Struct):
    job_id: str
    reason: str


class BulkRequeueResult(Struct):
    requeued: int
    job_ids: list[str]
    skipped: list[Skipped]


class StageStats(Struct):
    queued: Annotated[int, Meta(description="Claimable now")]
    delayed: Annotated[int, Meta(description="Queued, not claimable yet (a delay or a backoff)")]
    processing: int
    finished_today: Annotated[int, Meta(description="Runs of the stage that finished today")]
    failed_today: Annotated[
        int,
        Meta(description="Runs that failed today: retried, failed for good or lease expired"),
    ]
    finished_last_hour: int
    failed_last_hour: int
    oldest_claimable_seconds: Annotated[
        float | None,
        Meta(description="How long the job that has waited longest has been claimable"),
    ]


class QueueStatsView(Struct):
    timestamp: str
    today_since: Annotated[str, Meta(description="Start of today in REVIEW_QUEUE_TIMEZONE")]
    stages: Annotated[dict[str, StageStats], Meta(description="scraper and nlp")]


class WorkerView(Struct):
    worker_id: str
    state: Annotated[
        Literal["live", "gone"],
        Meta(description="gone: not seen for three lease lengths"),
    ]
    stages: list[str]
    version: str | None
    capabilities: list[str]
    host: str | None
    first_seen: str
    last_seen: Annotated[str, Meta(description="Up to 5 s old: written at most that often")]
    lease_seconds: int | None
    jobs: Annotated[list[str], Meta(description="The ids of the jobs it holds now")]
    finished_today: Annotated[int, Meta(description="Stage runs it finished today")]
    failed_today: Annotated[int, Meta(description="Stage runs of its that failed today")]


class WorkersView(Struct):
    timestamp: str
    live: int
    gone: int
    workers: Annotated[
        list[WorkerView], Meta(description="Seen in the last day, the most recently seen first")
    ]
