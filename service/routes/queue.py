"""The /queue API (seed 004 plus leases): parse, call the store, shape the answer."""

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.access import needs, worker_identity
from service.adding import add_batch, add_job
from service.clock import day_start, iso
from service.domain import JobNotFound, Stage, State, Status
from service.keys import Role
from service.routes.deps import (
    WORKER_HEADER,
    AppIdPath,
    IdPath,
    SettingsDep,
    StoreDep,
    TokenHeader,
    WorkerHeader,
    WorkersDep,
    body_or_header,
)
from service.routes.docs import BODY_ERRORS, errors
from service.schemas import (
    AddBatch,
    AddJob,
    AddResult,
    BatchResult,
    Claim,
    ClaimedJob,
    Heartbeat,
    HistoryRow,
    JobView,
    OldestWaiting,
    Overview,
    StageFilter,
    StatusFilter,
    Update,
    claimed_job,
    history_row,
    job_view,
)
from service.workers import Claimant


def _any(value: str) -> str | None:
    return None if value == "any" else value


class QueueController(Controller):
    path = "/queue"
    tags = ["queue"]

    @post(
        "/add",
        opt=needs(Role.CLIENT),
        summary="Ask for an app's reviews to be processed",
        description="201 with a new job; 200 when one is already queued or the app is done. "
        "`run_at` or `delay_seconds` delay its first claim (at most 365 days; counted as "
        "delayed meanwhile); `priority` is 1..10 or low, normal, high, urgent, critical.",
        responses={
            **errors(*BODY_ERRORS),
            200: ResponseSpec(
                AddResult,
                description="No new job: one is queued or processing (queued_already), or the "
                "app's latest run completed (exists; force queues a new run)",
                generate_examples=False,
            ),
        },
    )
    async def add(self, data: JSONBody[AddJob], store: StoreDep) -> Response[AddResult]:
        status_code, result = await add_job(store, data)
        return Response(result, status_code=status_code)

    @post(
        "/add/batch",
        opt=needs(Role.CLIENT),
        summary="Add up to 100 jobs in one call, each as /queue/add would",
        description="`results` has one entry per item, in order: what /queue/add would have "
        "answered it (`code`, `status`, `job_id` ...), or the error naming the item "
        "(`jobs[3].priority`). One bad item does not stop the others; two items for one app "
        "make one job. 201 when any job was created, else 200. An item that is not an object, "
        "or over 100 items, is a 422 for the whole batch, which then adds nothing.",
        responses={
            **errors(*BODY_ERRORS),
            200: ResponseSpec(
                BatchResult, description="No job was created", generate_examples=False
            ),
        },
    )
    async def add_batch(self, data: JSONBody[AddBatch], store: StoreDep) -> Response[BatchResult]:
        result = await add_batch(store, data.jobs)
        return Response(result, status_code=HTTP_201_CREATED if result.created else HTTP_200_OK)

    @get(
        "/poll",
        opt=needs(Role.READER),
        summary="List jobs by stage and status (read-only)",
        description="Highest priority first, then oldest first. Claims nothing.",
        responses=errors(422),
    )
    async def list_jobs(
        self,
        store: StoreDep,
        stage: FromQuery[StageFilter],
        status: FromQuery[StatusFilter],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 1,
    ) -> list[JobView]:
        jobs = await store.poll(_any(stage), _any(status), limit)
        return [job_view(j) for j in jobs]

    @post(
        "/poll",
        opt=needs(Role.WORKER),
        status_code=HTTP_200_OK,
        summary="Claim up to `limit` queued jobs of a stage, each under a lease",
        description="Each job is claimed with one atomic find_one_and_update; an empty list "
        "when nothing is claimable. The worker id comes from the body or X-Worker-ID; with a "
        "worker key it is the key's name (or `<name>/<instance>`), and may be left out.",
        responses=errors(*BODY_ERRORS),
    )
    async def claim(
        self,
        request: Request,
        data: JSONBody[Claim],
        store: StoreDep,
        workers: WorkersDep,
        settings: SettingsDep,
        worker_header: WorkerHeader,
    ) -> list[ClaimedJob]:
        asked = worker_identity(request, data.worker_id or worker_header)
        worker_id = body_or_header("worker_id", asked, WORKER_HEADER, None)
        lease = data.lease_seconds or settings.lease_seconds
        claimed = []
        for _ in range(data.limit):
            job = await store.claim_next(Stage(data.stage), worker_id, lease)
            if job is None:
                break
            claimed.append(claimed_job(job))
        capabilities = tuple(data.capabilities) if data.capabilities is not None else None
        claimant = Claimant(
            worker_id,
            data.stage,
            version=data.worker_version,
            capabilities=capabilities,
            host=data.host or _address(request),
            lease_seconds=lease,
        )
        await workers.claimed(claimant)
        return claimed

    @post(
        "/{job_id:str}/update",
        opt=needs(Role.WORKER),
        status_code=HTTP_200_OK,
        summary="Move a job along its lifecycle",
        description="`processing` on a queued job claims it and returns a lease_token. On a "
        "processing job the lease_token (body or X-Lease-Token) is required.",
        responses=errors(404, 409, *BODY_ERRORS),
    )
    async def update(
        self,
        request: Request,
        job_id: IdPath,
        data: JSONBody[Update],
        store: StoreDep,
        workers: WorkersDep,
        settings: SettingsDep,
        worker_header: WorkerHeader,
        token_header: TokenHeader,
    ) -> ClaimedJob:
        target = State(data.stage, data.status)
        token = data.lease_token or token_header
        if target.status == Status.PROCESSING:
            worker_id = worker_identity(request, worker_header)
            job = await store.claim(
                job_id, target.stage, worker_id, settings.lease_seconds, token=token
            )
            if worker_id is not None:
                claimant = Claimant(worker_id, target.stage.value, host=_address(request))
                await workers.claimed(claimant)
            return claimed_job(job)
        job = await store.transition(
            job_id,
            target,
            token=token,
            error_message=data.error_message,
            progress=data.progress,
            retryable=data.retryable,
        )
        return _without_token(job)

    @post(
        "/{job_id:str}/heartbeat",
        opt=needs(Role.WORKER),
        status_code=HTTP_200_OK,
        summary="Extend a lease by its original length, optionally reporting progress",
        responses=errors(404, 409, *BODY_ERRORS),
    )
    async def heartbeat(
        self, job_id: IdPath, data: JSONBody[Heartbeat], store: StoreDep, workers: WorkersDep
    ) -> JobView:
        job = await store.heartbeat(
            job_id, data.lease_token, progress=data.progress, message=data.message
        )
        await workers.heartbeat(job.get("worker_id"), job["stage"])
        return job_view(job)

    @get(
        "/status/{app_id:str}",
        opt=needs(Role.READER),
        summary="The app's current job: its queued or processing one, else its latest",
        responses=errors(404, 422),
    )
    async def status(self, app_id: AppIdPath, store: StoreDep) -> JobView:
        job = await store.current_for_app(app_id)
        if job is None:
            raise JobNotFound()
        return job_view(job)

    @get(
        "/overview",
        opt=needs(Role.READER),
        summary="Active jobs and today's totals",
        responses=errors(422),
    )
    async def overview(
        self,
        store: StoreDep,
        settings: SettingsDep,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> Overview:
        now = store.now()  # the store's clock, as stats and workers read "today"
        since = day_start(now, settings.zone)
        found = await store.overview(limit=limit, since=since)
        found["active_jobs"] = [job_view(j) for j in found["active_jobs"]]
        return Overview(timestamp=iso(now), **found)

    @get(
        "/oldest-waiting",
        opt=needs(Role.READER),
        summary="The job that has waited longest at each work stage",
        description="Queued jobs only (a job backing off after a failure included: its "
        "available_at says when it may run); null for a stage with none.",
        responses=errors(bad_request=False),
    )
    async def oldest_waiting(self, store: StoreDep) -> OldestWaiting:
        scraper = await store.oldest_waiting(Stage.SCRAPER)
        nlp = await store.oldest_waiting(Stage.NLP)
        return OldestWaiting(
            scraper=job_view(scraper) if scraper else None, nlp=job_view(nlp) if nlp else None
        )

    @get(
        "/jobs/{job_id:str}", opt=needs(Role.READER), summary="One job", responses=errors(404, 422)
    )
    async def job(self, job_id: IdPath, store: StoreDep) -> JobView:
        return job_view(await store.get(job_id))

    @get(
        "/jobs/{job_id:str}/history",
        opt=needs(Role.READER),
        summary="The job's state changes, oldest first",
        responses=errors(404, 422),
    )
    async def history(self, job_id: IdPath, store: StoreDep) -> list[HistoryRow]:
        return [history_row(r) for r in await store.history_of(job_id)]


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _without_token(job: dict) -> ClaimedJob:
    return claimed_job({**job, "lease_token": None})
