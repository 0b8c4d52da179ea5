"""Adding jobs: what `POST /queue/add`, its batch form and recurring schedules share.

An add body (`AddJob`) becomes one `JobStore.add` call; its answer is the one `/queue/add`
gives (201 for a new job, 200 when one is active or the app is done).
"""

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import msgspec
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_409_CONFLICT

from service.clock import iso, to_millis
from service.domain import InvalidField, QueueError
from service.json_body import convert_strictly, located
from service.schemas import MAX_DELAY_DAYS, AddJob, AddResult, BatchItem, BatchResult
from service.store import JobStore

MAX_AHEAD = timedelta(days=MAX_DELAY_DAYS)
# The answer's `status` for each outcome of `JobStore.add` (a schedule's `last_result` too).
ADD_STATUS = {"created": "queued", "queued_already": "queued_already", "exists": "exists"}


def available_at(body: AddJob, now: datetime) -> datetime | None:
    """When the job may first be claimed: None for now; 422 naming run_at past the limit."""
    if body.delay_seconds:
        return to_millis(now + timedelta(seconds=body.delay_seconds))
    if body.run_at is None or body.run_at <= now:
        return None
    if body.run_at > now + MAX_AHEAD:
        raise InvalidField("run_at", f"At most {MAX_DELAY_DAYS} days ahead")
    return to_millis(body.run_at)


async def add_job(store: JobStore, body: AddJob) -> tuple[int, AddResult]:
    """(HTTP status, answer) of one add, as `/queue/add` gives it."""
    outcome, job = await store.add(
        body.app_id,
        priority=body.priority,  # a number: AddJob turns a name into it
        params=body.params,
        force=body.force,
        max_retries=body.max_retries,
        available_at=available_at(body, store.now()),
    )
    if outcome == "created":
        later = job["available_at"] > job["requested_at"]
        result = AddResult(
            status=ADD_STATUS[outcome],
            stage=job["stage"],
            job_id=job["_id"],
            available_at=iso(job["available_at"]) if later else None,
        )
        return HTTP_201_CREATED, result
    if outcome == "queued_already":
        result = AddResult(
            status=ADD_STATUS[outcome],
            stage=job["stage"],
            current_status=job["status"],
            job_id=job["_id"],
        )
    else:
        result = AddResult(status=ADD_STATUS[outcome], message="Already done", job_id=job["_id"])
    return HTTP_200_OK, result


async def add_batch(store: JobStore, items: list[dict[str, Any]]) -> BatchResult:
    """Each item checked and added on its own, in order: one that does not fit, or that the
    queue refuses, is answered with its error and does not stop the others. Two items for one
    app make one job: the second finds the first's job active (queued_already)."""
    results = []
    for index, item in enumerate(items):
        app_id = item.get("app_id") if isinstance(item.get("app_id"), str) else None
        try:
            body = convert_strictly(item, AddJob)
            code, answer = await add_job(store, body)
        except msgspec.ValidationError as exc:
            field, message = located(str(exc))
            results.append(_failed(index, app_id, 422, field, message))
        except InvalidField as exc:
            field, message = exc.details[0]["field"], exc.details[0]["message"]
            results.append(_failed(index, app_id, 422, field, message))
        except QueueError as exc:
            item_failed = BatchItem(
                index, HTTP_409_CONFLICT, "failed", app_id, error=exc.message, details=exc.details
            )
            results.append(item_failed)
        else:
            fields = msgspec.structs.asdict(answer)
            results.append(BatchItem(index, code, app_id=body.app_id, **fields))
    counts = Counter(result.status for result in results)
    return BatchResult(
        results=results,
        created=counts["queued"],
        queued_already=counts["queued_already"],
        exists=counts["exists"],
        failed=counts["failed"],
    )


def _failed(
    index: int, app_id: str | None, code: int, field: str | None, message: str
) -> BatchItem:
    where = f"jobs[{index}]" + (f".{field}" if field else "")
    return BatchItem(
        index,
        code,
        "failed",
        app_id,
        error=f"Invalid request: check {where}",
        details=[{"field": where, "message": message, "source": "body"}],
    )
