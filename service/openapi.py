"""The OpenAPI document (at /schema), made to tell what the service does.

Litestar writes the paths, parameters and responses. Its schemas of msgspec structs miss some
of what msgspec enforces (`forbid_unknown_fields` as `additionalProperties: false`, a bound of
0, limits on dict sizes and keys), so the body schemas are replaced by msgspec's own JSON
Schema of the same structs: the validator and the document come from one source. The links
say how the answer of one call feeds the next (a new job's id, a claim's lease token), which
clients and schemathesis's stateful tests follow. This happens once, on the first request
under /schema, so building an app stays cheap.
"""

from collections.abc import Iterable
from types import ModuleType
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import SecurityScheme
from litestar.status_codes import HTTP_404_NOT_FOUND

from service import (
    __version__,
    key_schemas,
    report_schemas,
    results_schemas,
    schedule_schemas,
    schemas,
)
from service.access import PUBLIC, is_public, route_role
from service.errors import error_response

SCHEMA_PATH = "/schema"
REF_TEMPLATE = "#/components/schemas/{name}"
BODY_MODULES = (schemas, results_schemas, key_schemas, schedule_schemas, report_schemas)
_COMPLETED = "review_queue_openapi_completed"


def openapi_config() -> OpenAPIConfig:
    router = Router(
        SCHEMA_PATH,
        route_handlers=[],
        include_in_schema=False,
        opt=PUBLIC,  # the document is no secret: it is what clients are written against
        before_request=_complete_openapi,
        after_request=_not_found_in_our_shape,
    )
    return OpenAPIConfig(
        title="review-queue",
        version=__version__,
        description="A MongoDB-backed job queue for app-review scraping and NLP. Every POST and "
        "PUT is sent with Content-Type: application/json, with a body or without one (415 "
        'otherwise). Every error answers {"error", "details", "retry"?}.',
        path=SCHEMA_PATH,
        openapi_router=router,
    )


def body_types(modules: Iterable[ModuleType] = BODY_MODULES) -> list[type]:
    """The structs the routes take and give, from the modules that declare them."""
    found: list[type] = []
    for module in modules:
        for value in vars(module).values():
            declared_here = getattr(value, "__module__", None) == module.__name__
            if isinstance(value, type) and declared_here and issubclass(value, msgspec.Struct):
                found.append(value)
    return found


def msgspec_components(types: Iterable[type] | None = None) -> dict[str, dict[str, Any]]:
    types = body_types() if types is None else list(types)
    _, components = msgspec.json.schema_components(types, ref_template=REF_TEMPLATE)
    return components


def complete_openapi(app: Litestar) -> None:
    """Put msgspec's body schemas and the links in the app's OpenAPI document (once)."""
    openapi = app.openapi_schema
    if getattr(openapi, _COMPLETED, False):
        return
    # A dict among the component schemas, or as a link, is written out as it is.
    openapi.components.schemas.update(msgspec_components())  # type: ignore[arg-type]
    for (path, method, statuses), links in LINKS.items():
        operation = getattr(openapi.paths[path], method)
        for status in statuses:
            operation.responses[status].links = links
    if app.state.get("auth_required"):
        _declare_keys(app, openapi)
    setattr(openapi, _COMPLETED, True)


def _declare_keys(app: Litestar, openapi: Any) -> None:
    """Every route but the public ones takes a key, as a bearer token or as X-API-Key; its
    description names the role the key needs."""
    openapi.components.security_schemes = {
        "bearer": SecurityScheme(type="http", scheme="bearer", description="An API key"),
        "apiKey": SecurityScheme(
            type="apiKey", name="X-API-Key", security_scheme_in="header", description="The same"
        ),
    }
    for route in app.routes:
        path = route.path.replace(":str", "")
        if path not in openapi.paths:
            continue
        for handler in route.route_handlers:
            role = route_role(handler)
            if role is None or is_public(handler):
                continue
            for method in handler.http_methods - {"OPTIONS"}:
                operation = getattr(openapi.paths[path], method.lower(), None)
                if operation is not None:
                    operation.security = [{"bearer": []}, {"apiKey": []}]
                    operation.description = (
                        f"{operation.description or ''}\n\nNeeds a key with the {role} role."
                    ).strip()


def _operation(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _link(path: str, method: str, description: str, **fields: Any) -> dict[str, Any]:
    return {"operationRef": _operation(path, method), "description": description, **fields}


_NEW_JOB = {"job_id": "$response.body#/job_id"}
_CLAIMED = {"job_id": "$response.body#/0/job_id"}
_LEASE = {"lease_token": "$response.body#/0/lease_token"}
_APP = {"app_id": "$request.body#/app_id"}
_CLAIMED_APP = {"app_id": "$response.body#/0/app_id"}
_ON_JOB = {
    "GetJob": _link("/queue/jobs/{job_id}", "get", "The job", parameters=_NEW_JOB),
    "GetHistory": _link("/queue/jobs/{job_id}/history", "get", "Its history", parameters=_NEW_JOB),
    "Cancel": _link("/queue/{job_id}/cancel", "post", "Cancel it", parameters=_NEW_JOB),
    "Requeue": _link("/queue/{job_id}/requeue", "post", "Requeue it", parameters=_NEW_JOB),
}
_SCHEDULE = {"schedule_id": "$response.body#/schedule_id"}
_ON_SCHEDULE = {
    "GetSchedule": _link("/schedules/{schedule_id}", "get", "The schedule", parameters=_SCHEDULE),
    "ChangeSchedule": _link("/schedules/{schedule_id}", "patch", "Change it", parameters=_SCHEDULE),
    "PauseSchedule": _link(
        "/schedules/{schedule_id}/pause", "post", "Pause it", parameters=_SCHEDULE
    ),
    "ResumeSchedule": _link(
        "/schedules/{schedule_id}/resume", "post", "Resume it", parameters=_SCHEDULE
    ),
    "DeleteSchedule": _link(
        "/schedules/{schedule_id}", "delete", "Delete it", parameters=_SCHEDULE
    ),
}
LINKS: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {
    ("/schedules", "post", ("201",)): _ON_SCHEDULE,
    ("/queue/add", "post", ("200", "201")): {
        **_ON_JOB,
        "ClaimIt": _link(
            "/queue/{job_id}/update",
            "post",
            "Claim it (the seed's update to processing)",
            parameters=_NEW_JOB,
            requestBody={"stage": "scraper", "status": "processing"},
        ),
        "GetStatus": _link("/queue/status/{app_id}", "get", "The app's status", parameters=_APP),
        "GetReviews": _link("/apps/{app_id}/reviews", "get", "Its reviews", parameters=_APP),
        "GetSummary": _link("/apps/{app_id}/summary", "get", "Its summary", parameters=_APP),
    },
    ("/queue/poll", "post", ("200",)): {
        "Update": _link(
            "/queue/{job_id}/update",
            "post",
            "Move the claimed job on, under its lease",
            parameters=_CLAIMED,
            requestBody=_LEASE,
        ),
        "Heartbeat": _link(
            "/queue/{job_id}/heartbeat",
            "post",
            "Extend the lease",
            parameters=_CLAIMED,
            requestBody=_LEASE,
        ),
        "UploadReviews": _link(
            "/apps/{app_id}/reviews",
            "post",
            "Upload the reviews scraped for it",
            parameters=_CLAIMED_APP,
            requestBody={**_LEASE, "job_id": "$response.body#/0/job_id"},
        ),
        "PutAnalysis": _link(
            "/apps/{app_id}/analysis",
            "put",
            "Store its analysis",
            parameters=_CLAIMED_APP,
            requestBody={**_LEASE, "job_id": "$response.body#/0/job_id"},
        ),
    },
    ("/queue/{job_id}/update", "post", ("200",)): {
        "Heartbeat": _link(
            "/queue/{job_id}/heartbeat",
            "post",
            "Extend the lease a claim through update gave",
            parameters={"job_id": "$response.body#/job_id"},
            requestBody={"lease_token": "$response.body#/lease_token"},
        ),
        "UploadReviews": _link(
            "/apps/{app_id}/reviews",
            "post",
            "Upload the reviews scraped for it",
            parameters={"app_id": "$response.body#/app_id"},
            requestBody={
                "job_id": "$response.body#/job_id",
                "lease_token": "$response.body#/lease_token",
            },
        ),
        "GetHistory": _link(
            "/queue/jobs/{job_id}/history",
            "get",
            "Its history",
            parameters={"job_id": "$response.body#/job_id"},
        ),
    },
}


def _complete_openapi(request: Request) -> None:
    complete_openapi(request.app)


def _not_found_in_our_shape(response: Response) -> Response:
    """Litestar answers an unknown page under /schema with an HTML 404 of its own."""
    if response.status_code != HTTP_404_NOT_FOUND:
        return response
    pages = [f"{SCHEMA_PATH}/openapi.json", f"{SCHEMA_PATH}/openapi.yaml", SCHEMA_PATH]
    return error_response(HTTP_404_NOT_FOUND, "No such page", {"pages": pages})
