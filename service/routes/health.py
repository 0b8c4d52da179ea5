from litestar import Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from service.access import PUBLIC
from service.routes.deps import SettingsDep, StoreDep
from service.routes.docs import errors
from service.schemas import Health


@get(
    "/health",
    opt=PUBLIC,
    tags=["health"],
    summary="200 when the store answers a ping, 503 when not",
    responses=errors(503, bad_request=False, public=True),
)
async def health(store: StoreDep, settings: SettingsDep) -> Response[Health]:
    ok = await store.ping()
    body = Health(
        status="ok" if ok else "unavailable", store="embedded" if settings.embedded else "mongodb"
    )
    return Response(body, status_code=HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE)
