import logging

from litestar import Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from pymongo.errors import PyMongoError

from service.access import PUBLIC
from service.errors import error_response
from service.health import queue_issues
from service.routes.deps import HealthDep, SettingsDep, StoreDep, WorkersDep
from service.routes.docs import errors
from service.schemas import Health

log = logging.getLogger(__name__)


@get(
    "/health",
    opt=PUBLIC,
    tags=["health"],
    summary="200 ok or degraded (with the queue's issues); 503 when the store does not answer",
    description="Issues, each with its figure and the threshold it passed: a stage with "
    "claimable jobs and no live worker, a stage whose oldest claimable job has waited too long, "
    "too large a share of a stage's runs failed in the last hour, too many claimable jobs. "
    "The thresholds are settings (REVIEW_QUEUE_HEALTH_*). A service process asks the store at "
    "most once every 2 s; callers in between get the same answer.",
    responses=errors(503, bad_request=False, public=True),
)
async def health(
    answers: HealthDep, store: StoreDep, workers: WorkersDep, settings: SettingsDep
) -> Response[Health]:
    kind = "embedded" if settings.embedded else "mongodb"
    try:
        issues = await answers.get("issues", lambda: queue_issues(store, workers, settings))
    except PyMongoError as exc:
        log.warning("GET /health: the store does not answer (%s)", exc)
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        details = {"status": "unavailable", "store": kind, "reason": reason}
        return error_response(
            HTTP_503_SERVICE_UNAVAILABLE, "The store does not answer", details, retry=True
        )
    body = Health(status="degraded" if issues else "ok", store=kind, issues=issues)
    return Response(body, status_code=HTTP_200_OK)
