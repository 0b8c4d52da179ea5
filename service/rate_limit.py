"""Rate limits with Litestar's middleware: per API key, or per client address for requests
without a key this process knows (so a flood of made-up keys is limited by where it comes
from, before any key is looked up). A request over the limit is a 429 with `Retry-After`.
Each service process counts on its own."""

import re
from typing import Any

from litestar import Request
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import (
    CacheObject,
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)

from service.auth import OPENAPI_PATHS, presented_key

RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")


def parse_rate(text: str | None) -> tuple[Any, int] | None:
    """`1200/minute` -> ("minute", 1200); `off` or `0` -> None (no limit)."""
    if text is None or text.strip().lower() in ("off", "0", ""):
        return None
    matched = RATE.match(text.lower())
    if not matched or int(matched.group(1)) < 1:
        raise ValueError(f"not a rate: {text!r} (say e.g. 1200/minute, or off)")
    return matched.group(2), int(matched.group(1))


def caller_identity(request: Request) -> str:
    key = presented_key(request)
    keys = getattr(request.app.state, "key_store", None)
    known = keys.known(key) if key and keys is not None else None
    if known is not None:
        return f"key:{known.key_id}"
    return f"address:{get_remote_address(request)}"


class LimitWithRetryAfter(RateLimitMiddleware):
    def create_response_headers(self, cache_object: CacheObject) -> dict[str, str]:
        headers = super().create_response_headers(cache_object)
        if len(cache_object.history) >= self.max_requests:
            headers["Retry-After"] = headers[self.config.rate_limit_reset_header_key]
        return headers


def rate_limit(rate: tuple[Any, int]) -> DefineMiddleware:
    return RateLimitConfig(
        rate_limit=rate,
        identifier_for_request=caller_identity,
        middleware_class=LimitWithRetryAfter,
        exclude=OPENAPI_PATHS,
    ).middleware
