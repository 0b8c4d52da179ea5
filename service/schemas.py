"""Request and response bodies of the HTTP API (msgspec structs: validated and documented)."""

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from service.clock import iso
from service.domain import MAX_RETRIES_LIMIT, PRIORITIES, Stage, Status
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


class AddJob(Struct, forbid_unknown_fields=True):
    app_id: AppId
    priority: Annotated[
        int,
        Meta(ge=PRIORITIES.start, le=PRIORITIES.stop - 1, description="10 is the most urgent"),
    ] = 5
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

    def __post_init__(self) -> None:
        if found := params_problem(self.params):
            raise invalid(*found)


class AddResult(Struct, omit_defaults=True):
    status: Literal["queued", "queued_already", "exists"]
    job_id: str
    stage: str | None = None
    current_status: str | None = None
    message: str | None = None


class Claim(Struct, forbid_unknown_fields=True):
    stage: WorkStage
    worker_id: Annotated[
        WorkerId | None,
        Meta(description="Required, here or as the X-Worker-ID header (422 if neither)"),
    ] = None
    limit: Annotated[int, Meta(ge=1, le=50)] = 1
    lease_seconds: Annotated[int, Meta(ge=1, le=3600)] | None = None


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


class Health(Struct):
    status: Literal["ok", "unavailable"]
    store: Literal["mongodb", "embedded"]


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
