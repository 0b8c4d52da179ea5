"""What a request that changes something must look like: JSON, said so in its Content-Type.

- `require_json` (a guard on the whole app): every POST, PUT and PATCH must send
  `Content-Type: application/json` (charset utf-8 if one is named), with a body or without
  one (cancel, requeue): 415 otherwise. A web page can make a browser send a cross-site
  "simple" request (a form post: urlencoded, multipart or text/plain) without asking the
  service first; a JSON request needs a CORS preflight, which this service never grants. So
  no page a user visits can cancel or requeue a job, or send anything else, in their name.
- `JSONRequest` (the app's request class): a body that cannot be decoded is a 400, never a
  500 — also when it is nested deeper than the decoder goes or is not UTF-8 inside a string,
  which msgspec reports as RecursionError and UnicodeDecodeError rather than DecodeError.
"""

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, SerializationException
from litestar.handlers import BaseRouteHandler
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

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
        try:
            return await super().json()
        except RecursionError:
            raise SerializationException("JSON is nested too deeply") from None
        except UnicodeDecodeError as exc:
            raise SerializationException(
                f"The body is not valid UTF-8: {exc.reason} (byte {exc.start})"
            ) from None
