"""What a request that changes something must look like: JSON, said so in its Content-Type.

- `require_json` (a guard on the whole app): every POST, PUT and PATCH must send
  `Content-Type: application/json` (charset utf-8 if one is named), with a body or without
  one (cancel, requeue): 415 otherwise. A web page can make a browser send a cross-site
  "simple" request (a form post: urlencoded, multipart or text/plain) without asking the
  service first; a JSON request needs a CORS preflight, which this service never grants. So
  no page a user visits can cancel or requeue a job, or send anything else, in their name.
- `JSONRequest` (the app's request class): a body is decoded strictly into the handler's body
  type (a 422 naming the field when it does not fit), and a body that cannot be decoded is a
  400, never a 500: also when it is nested deeper than the decoder goes or is not UTF-8 inside
  a string, which msgspec reports as RecursionError and UnicodeDecodeError, not DecodeError.
"""

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE
from litestar.types import Empty

from service.limits import INT64_MAX, INT64_MIN

JSON = "application/json"
METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
UTF8 = frozenset({"utf-8", "utf8"})


def require_json(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if connection.scope.get("method") not in METHODS_WITH_BODY:
        return
    sent = connection.headers.get("content-type")
    media_type, options = connection.content_type if isinstance(connection, Request) else ("", {})
    if media_type.lower() == JSON and options.get("charset", "utf-8").lower() in UTF8:
        return
    raise HTTPException(
        status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        detail=f"Send the request as JSON, with Content-Type: {JSON} (also when it has no body)",
        extra={"content_type": sent, "expected": JSON},
    )


class JSONRequest(Request):
    async def json(self) -> Any:
        """The body, decoded strictly into the type the handler declares for it.

        Litestar converts the decoded body to the handler's type in msgspec's lax mode, which
        takes "5" for an int and 0 for a bool. Here the conversion is strict, so the body keeps
        to its schema as documented; only a number with a zero fraction (5.0) counts as an
        integer, as JSON Schema has it.
        """
        if self._json is not Empty:
            return self._json
        body_type = self._body_type()
        if body_type is None:
            return await self._decoded(super().json())
        raw = await self.body() or b"null"
        try:
            self._json = _decode_strictly(raw, body_type)
        except msgspec.ValidationError as exc:
            raise _invalid_body(str(exc)) from None
        except msgspec.DecodeError as exc:
            raise SerializationException(str(exc)) from None
        except (RecursionError, UnicodeDecodeError) as exc:
            raise _unreadable(exc) from None
        return self._json

    def _body_type(self) -> Any:
        data = self.route_handler.parsed_fn_signature.parameters.get("data")
        return data.annotation if data is not None else None

    @staticmethod
    async def _decoded(decoding: Any) -> Any:
        try:
            return await decoding
        except (RecursionError, UnicodeDecodeError) as exc:
            raise _unreadable(exc) from None


def _decode_strictly(raw: bytes, body_type: Any) -> Any:
    try:
        return msgspec.json.decode(raw, type=body_type, strict=True)
    except msgspec.ValidationError as exc:
        if "got `float`" not in str(exc):
            raise
    # A float where an integer goes: once more, with 5.0 read as 5 (rare, so the second pass).
    value = whole_floats_as_ints(msgspec.json.decode(raw))
    return msgspec.convert(value, type=body_type, strict=True)


def convert_strictly(value: Any, target: Any) -> Any:
    """An already decoded value (a batch item) into `target`, as strictly as a body is decoded:
    msgspec.ValidationError naming the field when it does not fit."""
    try:
        return msgspec.convert(value, type=target, strict=True)
    except msgspec.ValidationError as exc:
        if "got `float`" not in str(exc):
            raise
    return msgspec.convert(whole_floats_as_ints(value), type=target, strict=True)


def whole_floats_as_ints(value: Any) -> Any:
    """JSON Schema's reading of numbers: 5.0 is the integer 5 (within 64 bits). Walks without
    recursion: the decoder has already gone as deep as the body does."""
    if isinstance(value, float):
        return _as_int(value)
    pending = [value] if isinstance(value, dict | list) else []
    while pending:
        node = pending.pop()
        for key, item in list(node.items() if isinstance(node, dict) else enumerate(node)):
            if isinstance(item, float):
                node[key] = _as_int(item)
            elif isinstance(item, dict | list):
                pending.append(item)
    return value


def _as_int(number: float) -> float | int:
    whole = number.is_integer() and INT64_MIN <= number <= INT64_MAX
    return int(number) if whole else number


def _unreadable(exc: Exception) -> SerializationException:
    """msgspec reports these as RecursionError and UnicodeDecodeError, not DecodeError."""
    if isinstance(exc, UnicodeDecodeError):
        return SerializationException(
            f"The body is not valid UTF-8: {exc.reason} (byte {exc.start})"
        )
    return SerializationException("JSON is nested too deeply")


# msgspec's "<message> - at `$.<path>`" (or "at `key` in `$.<path>`"; a key in the path may
# hold a newline), and the field a message names when the path is the body itself ("Object
# missing required field `app_id`").
_AT = re.compile(r"^(.*?)(?: - at (?:`key` in )?`\$\.?(.*)`)?$", re.DOTALL)
_NAMED = re.compile(r"field `([^`]+)`")


def located(error: str) -> tuple[str | None, str]:
    """(the field a msgspec validation error names, if any; its message without the path)."""
    matched = _AT.match(error)
    message, path = (matched.group(1), matched.group(2) or None) if matched else (error, None)
    if path is None and (named := _NAMED.search(message)):
        path = named.group(1)
    return path, message


def _invalid_body(message: str) -> ValidationException:
    """A body that does not fit its type, said as Litestar says it: a field and a message."""
    path, reason = located(message)
    problem = {"key": path or "data", "message": reason, "source": "body"}
    return ValidationException(detail="The request body does not fit its schema", extra=[problem])
