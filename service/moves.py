"""The update of each state change, written so that one compare-and-set makes it.

Every state change is one `find_one_and_update` whose filter is the state the move starts from.
What a move does can depend on the job itself: whether its stage has runs left (retry or dead
letter), how long its backoff is (its attempt number), and which of two moves into the same
state it is (nlp/queued is reached by the scraper finishing or by an NLP worker handing the job
back). Rather than read the job first, these updates are aggregation pipelines that decide
from the document being updated, so the success path never reads.

Values from outside (messages, ids, parameters) are wrapped in `$literal`: in a pipeline a
string starting with `$` would otherwise be read as a field path.

Every update sets `last_event`, the event its history row records; within one `$set` stage
every expression sees the document as it was before the update.
"""

from datetime import datetime, timedelta
from typing import Any

from service.domain import (
    MAX_RETRIES_LIMIT,
    TRANSITIONS,
    Actor,
    Event,
    RetryPolicy,
    State,
    Status,
    Transition,
    retry_delay,
)
from service.expressions import Expr, cond, field, literal

Update = list[dict[str, Any]]


def pipeline(fields: dict[str, Expr], now: datetime) -> Update:
    """One `$set` stage: the fields, the change's time and the job's next version."""
    return [{"$set": {**fields, "updated_at": now, "version": {"$add": [field("version"), 1]}}}]


# A run is left when the attempt that just ended was not the stage's last: a stage runs at
# most 1 + max_retries times, and `attempt` counts the runs started at the current stage.
RUNS_LEFT: Expr = {"$lte": [field("attempt"), field("max_retries")]}

LEASE_EXPIRED_MESSAGE = "lease expired"
LEASE_CLEARED = {
    "lease_token": None,
    "lease_expires_at": None,
    "progress": None,
    "progress_message": None,
}


def claim(now: datetime, worker_id: str | None, token: str, lease_seconds: int) -> Update:
    return pipeline(
        {
            "status": Status.PROCESSING.value,
            "worker_id": literal(worker_id),
            "lease_token": literal(token),
            "lease_seconds": lease_seconds,
            "lease_expires_at": now + timedelta(seconds=lease_seconds),
            "claimed_at": now,
            "progress": None,
            "progress_message": None,
            "attempt": {"$add": [field("attempt"), 1]},
            "last_event": Event.CLAIMED.value,
        },
        now,
    )


def worker_moves_into(target: State) -> list[Transition]:
    """The moves a worker's update may make into `target` (one per stage it can start from)."""
    return [m for m in TRANSITIONS if m.by == Actor.WORKER and m.to == target]


def worker_move(
    target: State,
    now: datetime,
    *,
    error_message: str | None,
    progress: float | None,
    retryable: bool,
    retry: RetryPolicy,
    jitter: float,
) -> Update:
    """A worker's move of a processing job into `target`, from whichever stage allows it.

    Into nlp/queued there are two: the scraper finishing (from scraper/processing) and an NLP
    worker handing the job back (from nlp/processing); the job's stage picks one.
    """
    if target.status == Status.ERROR:
        return pipeline(_failed(now, error_message, retryable, retry, jitter), now)
    by_stage = {
        move.frm.stage.value: _release(now)
        if move.event == Event.RELEASED
        else _advance(move.to, now, progress)
        for move in worker_moves_into(target)
    }
    if len(by_stage) == 1:
        return pipeline(next(iter(by_stage.values())), now)
    (stage, at_stage), (_, otherwise) = by_stage.items()
    return pipeline(_either({"$eq": [field("stage"), stage]}, at_stage, otherwise), now)


def _either(test: Expr, then: dict[str, Expr], otherwise: dict[str, Expr]) -> dict[str, Expr]:
    """Fields set to `then`'s values when `test` holds, else to `otherwise`'s (a field only
    one of them sets keeps its value in the other case)."""
    names = dict.fromkeys([*then, *otherwise])
    return {
        name: cond(test, then.get(name, field(name)), otherwise.get(name, field(name)))
        for name in names
    }


def _advance(target: State, now: datetime, progress: float | None) -> dict[str, Expr]:
    """The stage is done: on to the next one (or done), with the next stage's runs."""
    done = target.status == Status.COMPLETED
    fields: dict[str, Expr] = {
        **LEASE_CLEARED,
        "stage": target.stage.value,
        "status": target.status.value,
        "attempt": 0,
        "available_at": now,
        "progress": 100 if done else progress,
        "error_message": None,
        "last_event": (Event.COMPLETED if done else Event.STAGE_FINISHED).value,
    }
    if done:
        fields["finished_at"] = now
        fields["active"] = False
    return fields


def _release(now: datetime) -> dict[str, Expr]:
    """Handed back unfinished by its worker: claimable again at once, the run not counted."""
    return {
        **LEASE_CLEARED,
        "status": Status.QUEUED.value,
        "available_at": now,
        "attempt": {"$add": [field("attempt"), -1]},
        "last_event": Event.RELEASED.value,
    }


def _failed(
    now: datetime, message: str | None, retryable: bool, retry: RetryPolicy, jitter: float
) -> dict[str, Expr]:
    """Queued again after a backoff while the stage has runs left; else a dead letter."""
    failed = {**LEASE_CLEARED, "error_message": literal(message or "failed without a message")}
    dead = _dead_letter(now, Event.FAILED)
    if not retryable:
        return {**failed, **dead}
    backoff = {
        "$switch": {
            "branches": [
                {"case": {"$eq": [field("attempt"), attempt]}, "then": now + timedelta(seconds=s)}
                for attempt, s in _backoff_table(retry, jitter)
            ],
            "default": now + timedelta(seconds=retry.max_seconds * (1 + jitter)),
        }
    }
    queued_again = {
        "status": Status.QUEUED.value,
        "available_at": backoff,
        "retries": {"$add": [field("retries"), 1]},
        "last_event": Event.RETRY_SCHEDULED.value,
    }
    return {**failed, **_either(RUNS_LEFT, queued_again, dead)}


def _backoff_table(retry: RetryPolicy, jitter: float) -> list[tuple[int, float]]:
    """(attempt, seconds before the next run) for every attempt a stage can reach."""
    return [
        (attempt, retry_delay(attempt, retry.base_seconds, retry.max_seconds, jitter))
        for attempt in range(1, MAX_RETRIES_LIMIT + 2)
    ]


def _dead_letter(now: datetime, event: Event) -> dict[str, Expr]:
    """No runs left, or not retryable: the job stays in error at its stage."""
    return {
        "status": Status.ERROR.value,
        "finished_at": now,
        "active": False,
        "last_event": event.value,
    }


def lease_expired(now: datetime) -> Update:
    """The reaper: an expired lease is a failed run, queued again at once while runs are left."""
    queued_again = {
        "status": Status.QUEUED.value,
        "available_at": now,
        "retries": {"$add": [field("retries"), 1]},
        "last_event": Event.LEASE_EXPIRED.value,
    }
    dead = _dead_letter(now, Event.LEASE_EXPIRED)
    fields = {**LEASE_CLEARED, "error_message": literal(LEASE_EXPIRED_MESSAGE)}
    return pipeline({**fields, **_either(RUNS_LEFT, queued_again, dead)}, now)


def requeued(now: datetime) -> Update:
    """An operator sends a dead letter round again: queued at its stage, runs reset."""
    return pipeline(
        {
            "status": Status.QUEUED.value,
            "active": True,
            "attempt": 0,
            "available_at": now,
            "finished_at": None,
            "last_event": Event.REQUEUED.value,
        },
        now,
    )


def cancelled(now: datetime) -> Update:
    return pipeline(
        {
            "status": Status.CANCELLED.value,
            "lease_token": None,
            "lease_expires_at": None,
            "finished_at": now,
            "active": False,
            "last_event": Event.CANCELLED.value,
        },
        now,
    )
