"""The results API: scraped reviews in, analysis in, reviews and the app's summary out."""

from typing import Annotated

import msgspec
from litestar import Controller, get, post, put
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from service.access import needs
from service.cursor import decode_cursor, encode_cursor
from service.domain import Stage, Status
from service.keys import Role
from service.results_schemas import (
    AnalysisBatch,
    AnalysisStored,
    ReviewBatch,
    ReviewPage,
    Stored,
    SummaryView,
    review_out,
    summary_view,
)
from service.routes.deps import (
    TOKEN_HEADER,
    AppIdPath,
    CursorQuery,
    ResultsDep,
    StoreDep,
    TokenHeader,
    body_or_header,
)
from service.routes.docs import BODY_ERRORS, errors
from service.schemas import JobView, job_view

RESULT_BODY_LIMIT = 8 * 1024 * 1024


class AppResultsController(Controller):
    path = "/apps/{app_id:str}"
    tags = ["results"]

    @post(
        "/reviews",
        opt=needs(Role.WORKER),
        status_code=HTTP_200_OK,
        request_max_body_size=RESULT_BODY_LIMIT,
        summary="Upload a batch of scraped reviews (the scraper, under its lease)",
        description="Idempotent: reviews are keyed by (app_id, review_id), so a retried batch "
        "stores nothing twice. A review stored before whose content or score changed loses its "
        "analysis. The whole batch is checked before any of it is stored. `stored` is the app's "
        "review count after the batch.",
        responses=errors(404, 409, *BODY_ERRORS),
    )
    async def upload(
        self,
        app_id: AppIdPath,
        data: JSONBody[ReviewBatch],
        store: StoreDep,
        results: ResultsDep,
        token_header: TokenHeader,
    ) -> Stored:
        token = body_or_header("lease_token", data.lease_token, TOKEN_HEADER, token_header)
        await store.verify_lease(data.job_id, app_id, Stage.SCRAPER, token)
        reviews = [msgspec.structs.asdict(r) for r in data.reviews]
        stored = await results.store_reviews(app_id, data.job_id, reviews)
        return Stored(received=len(data.reviews), stored=stored)

    @get(
        "/reviews",
        opt=needs(Role.READER),
        summary="The app's reviews by review_id, a page at a time",
        description="Pass `next_cursor` back as `cursor` for the next page; it is null on the "
        "last one. An app without reviews has an empty list.",
        responses=errors(422),
    )
    async def reviews(
        self,
        app_id: AppIdPath,
        results: ResultsDep,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        cursor: CursorQuery = None,
    ) -> ReviewPage:
        after = decode_cursor(cursor, parts=1)[0] if cursor is not None else None
        docs, more = await results.page_of_reviews(app_id, after=after, limit=limit)
        return ReviewPage(
            reviews=[review_out(d) for d in docs],
            next_cursor=encode_cursor(docs[-1]["review_id"]) if more else None,
            total=await results.count_reviews(app_id),
        )

    @put(
        "/analysis",
        opt=needs(Role.WORKER),
        request_max_body_size=RESULT_BODY_LIMIT,
        summary="Store analysis results and the app's summary (the NLP worker, under its lease)",
        description="Each review's analysis replaces its earlier one; review ids the service "
        "does not know are listed back. A summary, when sent, replaces the app's summary.",
        responses=errors(404, 409, *BODY_ERRORS),
    )
    async def analysis(
        self,
        app_id: AppIdPath,
        data: JSONBody[AnalysisBatch],
        store: StoreDep,
        results: ResultsDep,
        token_header: TokenHeader,
    ) -> AnalysisStored:
        token = body_or_header("lease_token", data.lease_token, TOKEN_HEADER, token_header)
        await store.verify_lease(data.job_id, app_id, Stage.NLP, token)
        analyses = [msgspec.to_builtins(r) for r in data.reviews]
        updated, unknown = await results.store_analysis(app_id, data.job_id, analyses)
        if data.summary is not None:
            await results.store_summary(app_id, data.job_id, msgspec.to_builtins(data.summary))
        return AnalysisStored(
            updated=updated, unknown_review_ids=unknown, summary_stored=data.summary is not None
        )

    @get(
        "/jobs",
        opt=needs(Role.READER),
        summary="The app's runs: its active job first, then the newest",
        description="An app with no runs has an empty list.",
        responses=errors(422),
    )
    async def runs(
        self,
        app_id: AppIdPath,
        store: StoreDep,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> list[JobView]:
        return [job_view(job) for job in await store.jobs_of_app(app_id, limit)]

    @get(
        "/summary",
        opt=needs(Role.READER),
        summary="The app's summary, once its current job is done",
        description="The summary the NLP stage of the app's current job stored; 404 says where "
        "the app is when there is none to show yet.",
        responses=errors(404, 422),
    )
    async def summary(self, app_id: AppIdPath, store: StoreDep, results: ResultsDep) -> SummaryView:
        job = await store.current_for_app(app_id)
        if job is None:
            raise NotFoundException("No job for this app", extra={"app_id": app_id})
        where = {"job_id": job["_id"], "stage": job["stage"], "status": job["status"]}
        if (job["stage"], job["status"]) != (Stage.DONE, Status.COMPLETED):
            raise NotFoundException("No summary yet", extra=where)
        found = await results.summary(app_id)
        if found is None or found["job_id"] != job["_id"]:  # an earlier run's is out of date
            raise NotFoundException("No summary yet: the NLP stage stored none", extra=where)
        return summary_view(found)
