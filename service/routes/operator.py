"""Operator actions on the queue: dead letters, requeue, cancel."""

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from service.access import needs
from service.domain import Stage
from service.keys import Role
from service.routes.deps import CursorQuery, IdPath, OperatorDep
from service.routes.docs import BODY_ERRORS, action, errors
from service.schemas import (
    BulkRequeue,
    BulkRequeueResult,
    DeadLetterPage,
    JobView,
    Skipped,
    WorkStage,
    job_view,
)


class OperatorController(Controller):
    path = "/queue"
    tags = ["operator"]

    @get(
        "/dead-letter",
        opt=needs(Role.READER),
        summary="Jobs left in error (no runs left, or not retryable), newest first",
        responses=errors(422),
    )
    async def dead_letters(
        self,
        operator: OperatorDep,
        stage: Annotated[WorkStage | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: CursorQuery = None,
    ) -> DeadLetterPage:
        jobs, total, next_cursor = await operator.dead_letters(
            Stage(stage) if stage else None, limit, cursor
        )
        return DeadLetterPage([job_view(j) for j in jobs], total, next_cursor)

    @post(
        "/dead-letter/requeue",
        opt=needs(Role.OPERATOR),
        status_code=HTTP_200_OK,
        summary="Requeue dead letters in bulk, by stage and/or job ids",
        responses=errors(*BODY_ERRORS),
    )
    async def requeue_many(
        self, data: JSONBody[BulkRequeue], operator: OperatorDep
    ) -> BulkRequeueResult:
        requeued, skipped = await operator.requeue_many(
            Stage(data.stage) if data.stage else None, data.job_ids
        )
        return BulkRequeueResult(len(requeued), requeued, [Skipped(**s) for s in skipped])

    @action(
        "/{job_id:str}/requeue",
        Role.OPERATOR,
        "A job in error goes back to the queue at the stage it failed in, runs reset",
    )
    async def requeue(self, job_id: IdPath, operator: OperatorDep) -> JobView:
        return job_view(await operator.requeue(job_id))

    @action(
        "/{job_id:str}/cancel",
        Role.OPERATOR,
        "Cancel a job that is not completed; its worker gets 409 on its next call",
    )
    async def cancel(self, job_id: IdPath, operator: OperatorDep) -> JobView:
        return job_view(await operator.cancel(job_id))
