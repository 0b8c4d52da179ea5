"""Stages, statuses and the job lifecycle table (seed 004). Pure: no I/O."""

from dataclasses import dataclass
from enum import StrEnum


class Stage(StrEnum):
    SCRAPER = "scraper"
    NLP = "nlp"
    DONE = "done"


class Status(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    ERROR = "error"
    CANCELLED = "cancelled"


class Event(StrEnum):
    """Why a history row was written."""

    CREATED = "created"
    CLAIMED = "claimed"
    STAGE_FINISHED = "stage_finished"
    COMPLETED = "completed"
    FAILED = "failed"
    RETRY_SCHEDULED = "retry_scheduled"
    RELEASED = "released"
    LEASE_EXPIRED = "lease_expired"
    REQUEUED = "requeued"
    CANCELLED = "cancelled"


class Actor(StrEnum):
    WORKER = "worker"
    SERVICE = "service"
    OPERATOR = "operator"


ACTIVE_STATUSES = (Status.QUEUED, Status.PROCESSING)
FINAL_STATUSES = (Status.COMPLETED, Status.ERROR, Status.CANCELLED)
WORK_STAGES = (Stage.SCRAPER, Stage.NLP)
MAX_RETRIES_LIMIT = 20  # the most retries a job may ask for
MAX_LEASE_SECONDS = 3600  # the longest lease a claim may ask for
PRIORITIES = range(1, 11)  # 1..10, 10 the most urgent


@dataclass(frozen=True, order=True)
class State:
    stage: Stage
    status: Status

    def __str__(self) -> str:
        return f"{self.stage}/{self.status}"

    def as_dict(self) -> dict[str, str]:
        return {"stage": str(self.stage), "status": str(self.status)}


SCRAPER_QUEUED = State(Stage.SCRAPER, Status.QUEUED)
SCRAPER_PROCESSING = State(Stage.SCRAPER, Status.PROCESSING)
SCRAPER_ERROR = State(Stage.SCRAPER, Status.ERROR)
NLP_QUEUED = State(Stage.NLP, Status.QUEUED)
NLP_PROCESSING = State(Stage.NLP, Status.PROCESSING)
NLP_ERROR = State(Stage.NLP, Status.ERROR)
DONE_COMPLETED = State(Stage.DONE, Status.COMPLETED)
INITIAL = SCRAPER_QUEUED


@dataclass(frozen=True)
class Transition:
    frm: State
    to: State
    event: Event
    by: Actor
    why: str


def _each_work_stage(
    frm: Status, to: Status, event: Event, by: Actor, why: str
) -> list[Transition]:
    """The same move at the scraper and at the NLP stage."""
    return [
        Transition(State(stage, frm), State(stage, to), event, by, why) for stage in WORK_STAGES
    ]


# The lifecycle table. The store makes only these moves; a worker's update may ask only for
# the moves `by` a worker. Both the store and the README's table (tests/test_readme.py) read it.
TRANSITIONS: list[Transition] = [
    Transition(
        SCRAPER_QUEUED,
        SCRAPER_PROCESSING,
        Event.CLAIMED,
        Actor.WORKER,
        "a scraper worker claims it",
    ),
    Transition(
        SCRAPER_PROCESSING, NLP_QUEUED, Event.STAGE_FINISHED, Actor.WORKER, "the scraper finished"
    ),
    Transition(NLP_QUEUED, NLP_PROCESSING, Event.CLAIMED, Actor.WORKER, "an NLP worker claims it"),
    Transition(
        NLP_PROCESSING, DONE_COMPLETED, Event.COMPLETED, Actor.WORKER, "the NLP worker finished"
    ),
    *_each_work_stage(
        Status.PROCESSING,
        Status.ERROR,
        Event.FAILED,
        Actor.WORKER,
        "the stage failed for good: not retryable, or no runs left (dead letter)",
    ),
    *_each_work_stage(
        Status.PROCESSING,
        Status.QUEUED,
        Event.RELEASED,
        Actor.WORKER,
        "the worker hands it back unfinished (shutting down): queued again at once, "
        "the run not counted",
    ),
    *_each_work_stage(
        Status.PROCESSING,
        Status.QUEUED,
        Event.RETRY_SCHEDULED,
        Actor.SERVICE,
        "the stage failed with runs left: queued again after a backoff",
    ),
    *_each_work_stage(
        Status.PROCESSING,
        Status.QUEUED,
        Event.LEASE_EXPIRED,
        Actor.SERVICE,
        "the lease expired with runs left: queued again at once",
    ),
    *_each_work_stage(
        Status.PROCESSING,
        Status.ERROR,
        Event.LEASE_EXPIRED,
        Actor.SERVICE,
        "the lease expired on the last run (dead letter)",
    ),
    *_each_work_stage(
        Status.ERROR,
        Status.QUEUED,
        Event.REQUEUED,
        Actor.OPERATOR,
        "an operator requeues a dead letter, runs reset",
    ),
    *(
        move
        for status in (Status.QUEUED, Status.PROCESSING, Status.ERROR)
        for move in _each_work_stage(
            status, Status.CANCELLED, Event.CANCELLED, Actor.OPERATOR, "an operator cancels it"
        )
    ),
]

WORK_STAGE_NAMES = [stage.value for stage in WORK_STAGES]
# How a stage run ends, by the history row that ends it (released: given back unfinished)
RUN_OUTCOMES = {
    Event.STAGE_FINISHED: "finished",
    Event.COMPLETED: "finished",
    Event.FAILED: "failed",
    Event.RETRY_SCHEDULED: "failed",
    Event.LEASE_EXPIRED: "failed",
    Event.RELEASED: "released",
}
# The stage a run was at, from the event that ended it and the state it led to (the scraper
# finishing leads to nlp/queued)
RAN_AT = {(m.event, m.to): m.frm.stage.value for m in TRANSITIONS if m.event in RUN_OUTCOMES}


def worker_move(frm: State, to: State) -> Transition | None:
    for move in TRANSITIONS:
        if move.by == Actor.WORKER and (move.frm, move.to) == (frm, to):
            return move
    return None


def allowed_from(state: State) -> list[State]:
    """Where a worker's update may move a job from `state`."""
    return sorted({m.to for m in TRANSITIONS if m.by == Actor.WORKER and m.frm == state})


def lifecycle_markdown() -> str:
    rows = [f"| {m.frm} | {m.to} | {m.event} | {m.by} | {m.why} |" for m in TRANSITIONS]
    return "\n".join(["| from | to | event | by | when |", "|---|---|---|---|---|", *rows])


def retry_delay(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Backoff before the next run after run number `attempt` failed.

    Exponential from `base`, doubling per attempt, capped at `cap`; `jitter` in [-0.1, 0.1].
    """
    return min(base * 2 ** (attempt - 1), cap) * (1 + jitter)


def is_active(status: Status) -> bool:
    return status in ACTIVE_STATUSES


class QueueError(Exception):
    """A request the queue refuses; the HTTP layer maps each subclass to a status code."""

    retry = False

    def __init__(self, message: str, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(QueueError):
    """Something the request names does not exist: a 404."""


class JobNotFound(NotFound):
    def __init__(self, job_id: str | None = None) -> None:
        super().__init__("Job not found", {"job_id": job_id} if job_id is not None else None)


class TransitionNotAllowed(QueueError):
    def __init__(self, frm: State, to: State) -> None:
        allowed = [s.as_dict() for s in allowed_from(frm)]
        super().__init__(
            f"Cannot move a job from {frm} to {to}",
            {"from": frm.as_dict(), "to": to.as_dict(), "allowed": allowed},
        )


class AlreadyClaimed(QueueError):
    retry = True

    def __init__(self) -> None:
        super().__init__(
            "Job was already claimed by another worker",
            "Poll for another job and claim that one",
        )


class LeaseLost(QueueError):
    STALE = "The lease_token is not the job's current lease (it expired or was taken over)"

    def __init__(self, state: State, reason: str = STALE) -> None:
        super().__init__(reason, {"current": state.as_dict()})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    base_seconds: float = 2.0
    max_seconds: float = 300.0


class InvalidField(QueueError):
    """Input that parsed but means nothing here (a cursor from elsewhere, say): a 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"Invalid request: check {field}", [{"field": field, "message": message}])


class NotAllowed(QueueError):
    def __init__(self, message: str, job: dict) -> None:
        super().__init__(message, {"current": {"stage": job["stage"], "status": job["status"]}})
