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


class Event(StrEnum):
    """Why a history row was written."""

    CREATED = "created"
    CLAIMED = "claimed"
    STAGE_FINISHED = "stage_finished"
    COMPLETED = "completed"
    FAILED = "failed"
    LEASE_EXPIRED = "lease_expired"


ACTIVE_STATUSES = (Status.QUEUED, Status.PROCESSING)
WORK_STAGES = (Stage.SCRAPER, Stage.NLP)


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

# The lifecycle table: (from, to) -> the event recorded in history. Anything else is refused.
TRANSITIONS: dict[tuple[State, State], Event] = {
    (SCRAPER_QUEUED, SCRAPER_PROCESSING): Event.CLAIMED,
    (SCRAPER_PROCESSING, NLP_QUEUED): Event.STAGE_FINISHED,
    (NLP_QUEUED, NLP_PROCESSING): Event.CLAIMED,
    (NLP_PROCESSING, DONE_COMPLETED): Event.COMPLETED,
    (SCRAPER_PROCESSING, SCRAPER_ERROR): Event.FAILED,
    (NLP_PROCESSING, NLP_ERROR): Event.FAILED,
}


def allowed_from(state: State) -> list[State]:
    return sorted(to for (frm, to) in TRANSITIONS if frm == state)


def transition_event(frm: State, to: State) -> Event | None:
    return TRANSITIONS.get((frm, to))


def is_active(status: Status) -> bool:
    return status in ACTIVE_STATUSES


class QueueError(Exception):
    """A request the queue refuses; the HTTP layer maps each subclass to a status code."""

    retry = False

    def __init__(self, message: str, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class JobNotFound(QueueError):
    def __init__(self) -> None:
        super().__init__("Job not found")


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
    def __init__(self, reason: str, state: State) -> None:
        super().__init__(reason, {"current": state.as_dict()})
