"""Every error leaves as JSON: {"error": ..., "details": ..., "retry"?: true}.

`details` is always there: the fields at fault, the limit that was passed, or at least which
request failed. Headers an exception carries (405's Allow, for one) go out with it.
"""

import logging
import re
from enum import Enum
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
)

from service.domain import InvalidField, NotFound, QueueError
from service.json_body import located

log = logging.getLogger(__name__)

_MISSING_PARAMETER = re.compile(
    r"Missing required (?:query |header |path |cookie )?parameter '([^']+)'"
)
BAD_JSON = "The request body is not valid JSON"
_NOT_JSON = ("malformed", "json", "decode", "unexpected character", "truncated")


def error_response(
    status_code: int,
    error: str,
    details: Any,
    retry: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"error": error, "details": details}
    if retry:
        body["retry"] = True
    return Response(body, status_code=status_code, headers=headers, media_type=MediaType.JSON)


def _which_request(request: Request) -> dict[str, Any]:
    """The details of an error with nothing more specific to say: the request that failed,
    with the ids in its path."""
    return {"method": request.method, "path": request.url.path, **_path_params(request)}


def _path_params(request: Request) -> dict[str, Any]:
    return dict(request.scope.get("path_params") or {})  # none when no route matched


def queue_error(request: Request, exc: QueueError) -> Response:
    status = HTTP_409_CONFLICT
    if isinstance(exc, NotFound):
        status = HTTP_404_NOT_FOUND
    elif isinstance(exc, InvalidField):
        status = HTTP_422_UNPROCESSABLE_ENTITY
    details = exc.details
    if details is None:  # the ids in the path say which job or app, else the request does
        details = _path_params(request) or _which_request(request)
    return error_response(status, exc.message, details, exc.retry)


def http_error(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ValidationException):
        return _validation_error(request, exc)
    status, headers = exc.status_code, exc.headers
    if isinstance(exc.__cause__, SerializationException):  # the body could not be decoded
        return error_response(status, BAD_JSON, {"reason": exc.detail}, headers=headers)
    if status == HTTP_404_NOT_FOUND and not exc.extra:
        return error_response(status, "No such route", _which_request(request), headers=headers)
    if status == HTTP_405_METHOD_NOT_ALLOWED:
        allowed = sorted(
            m.strip() for m in (headers or {}).get("allow", "").split(",") if m.strip()
        )
        details = {"method": request.method, "path": request.url.path, "allowed": allowed}
        return error_response(status, "Method not allowed", details, headers=headers)
    if status == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        limit = request.route_handler.resolve_request_max_body_size()
        error = f"The request body is larger than {limit} bytes"
        return error_response(status, error, {"limit_bytes": limit}, headers=headers)
    details = exc.extra or _which_request(request)
    return error_response(status, exc.detail, details, headers=headers)


def _validation_error(request: Request, exc: ValidationException) -> Response:
    problems = exc.extra if isinstance(exc.extra, list) else []
    fields = [_field_problem(request, p) for p in problems if isinstance(p, dict)]
    if not fields:
        missing = _MISSING_PARAMETER.search(exc.detail or "")
        if missing:
            fields = [{"field": missing.group(1), "message": "This field is required"}]
    if not fields:
        return error_response(
            HTTP_400_BAD_REQUEST, exc.detail or "Bad request", _which_request(request)
        )
    if any(f["field"] == "body" and f["message"] == "'data'" for f in fields):
        return error_response(
            HTTP_400_BAD_REQUEST,
            "The request body is empty: send a JSON object",
            {"field": "body", "expected": "a JSON object"},
        )
    if any(f["field"] == "body" and _looks_like_bad_json(f["message"]) for f in fields):
        return error_response(HTTP_400_BAD_REQUEST, BAD_JSON, fields)
    names = ", ".join(f["field"] for f in fields)
    return error_response(HTTP_422_UNPROCESSABLE_ENTITY, f"Invalid request: check {names}", fields)


def _field_problem(request: Request, problem: dict[str, Any]) -> dict[str, Any]:
    key = problem.get("key") or "body"
    message = str(problem.get("message", "invalid"))
    if key == "data":  # Litestar names the whole body 'data'
        key = located(message)[0] or "body"
    allowed = _allowed_values(request, key, problem.get("source"))
    detail: dict[str, Any] = {
        "field": _public_name(request, key, problem.get("source")),
        "message": message,
    }
    if problem.get("source"):
        detail["source"] = problem["source"]
    if allowed:
        detail["allowed"] = allowed
    return detail


def _public_name(request: Request, key: str, source: str | None) -> str:
    """A parameter as the client sends it: a header by its header name, not the argument's."""
    if source == "body":
        return key
    parameter = request.route_handler.parsed_fn_signature.parameters.get(key)
    return getattr(parameter and parameter.kwarg_definition, "name", None) or key


def _allowed_values(request: Request, field: str, source: str | None) -> list[str] | None:
    """The values a field of this route takes, read from the types its handler declares."""
    parameters = request.route_handler.parsed_fn_signature.parameters
    if source == "body" and "data" in parameters:
        hints = get_type_hints(parameters["data"].annotation, include_extras=True)
        return _choices(hints[field]) if field in hints else None
    parameter = parameters.get(field)
    return _choices(parameter.annotation) if parameter is not None else None


def _choices(annotation: Any) -> list[str] | None:
    origin = get_origin(annotation)
    if origin is Literal:
        return [str(value) for value in get_args(annotation)]
    if origin is Annotated:
        return _choices(get_args(annotation)[0])
    if origin in (Union, UnionType):
        for member in get_args(annotation):
            if member is not NoneType and (found := _choices(member)):
                return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(member.value) for member in annotation]
    return None


def _looks_like_bad_json(message: str) -> bool:
    return any(word in message.lower() for word in _NOT_JSON)


def internal_error(request: Request, exc: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    details = {**_which_request(request), "note": "A bug in the service; it is logged"}
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error", details)


EXCEPTION_HANDLERS = {
    QueueError: queue_error,
    HTTPException: http_error,
    Exception: internal_error,
}
