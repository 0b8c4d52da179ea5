"""OPTIONS answers name every method of the path in `Allow`.

Litestar 2 builds a path's automatic OPTIONS handler when the path's first handler is
registered, so a path served by several handlers (GET and POST /queue/poll) answers OPTIONS
with only the first one's method (litestar#4169, fixed in Litestar 3). This middleware sets
`Allow` from the route that matched. 405 answers are right already: the router lists every
method there.
"""

from typing import Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class AllowEveryMethod(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") != "OPTIONS":
            await next_app(scope, receive, send)
            return
        allow = ", ".join(sorted(_methods(scope)))

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and allow:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allow.encode())]}
            await send(message)

        await next_app(scope, receive, send_with_allow)


def _methods(scope: Any) -> set[str]:
    template = scope.get("path_template")
    routes = scope["litestar_app"].routes
    return {method for route in routes if route.path_format == template for method in route.methods}
