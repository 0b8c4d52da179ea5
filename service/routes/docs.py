"""OpenAPI descriptions of the error answers a route can give, and the decorator of an action
that takes no body."""

from litestar import post
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK

from service.access import needs
from service.keys import Role
from service.schemas import ErrorBody

_MEANINGS = {
    400: "The request could not be read: the body is not JSON (or is empty)",
    401: "No API key, or not a live one (WWW-Authenticate: Bearer)",
    403: "The key's role does not allow this (details name the role needed)",
    404: "No such job (or no job for this app)",
    409: "The job is not in a state that allows this, or its lease is not yours",
    413: "The request body is larger than the limit",
    415: "Not sent with Content-Type: application/json (every POST and PUT, body or not)",
    422: "A field or parameter is missing or has a bad value; details name it",
    429: "Too many requests from this key (or address): wait Retry-After seconds",
    503: "The store does not answer",
}


NO_BODY = (
    "No body. Send it with Content-Type: application/json all the same (415 otherwise): a "
    "cross-site form or other simple request cannot set that header, so no web page can send "
    "this."
)
BODY_ERRORS = (413, 415, 422)  # what any route that takes a JSON body can answer
ACTION_ERRORS = (404, 409, 415, 422)  # a POST without a body on /queue/{job_id}/...


def errors(*codes: int, bad_request: bool = True, public: bool = False) -> dict[int, ResponseSpec]:
    """The error answers of a route; 400 among them unless the route takes no input at all
    (Litestar documents a 400 of its own shape otherwise, which is not what we answer), 401
    and 403 unless it is public, and 429 (rate limits) always."""
    found = {*codes, 429}
    if bad_request:
        found.add(400)
    if not public:
        found |= {401, 403}
    return {
        code: ResponseSpec(
            data_container=ErrorBody, description=_MEANINGS[code], generate_examples=False
        )
        for code in sorted(found)
    }


def action(path: str, role: Role, summary: str) -> HTTPRouteHandler:
    """A POST that takes no body and answers 200 with what it changed (cancel, pause ...),
    callable by `role`."""
    return post(
        path,
        opt=needs(role),
        status_code=HTTP_200_OK,
        summary=summary,
        description=NO_BODY,
        responses=errors(*ACTION_ERRORS),
    )
