"""Who may call what. Every route declares the role it needs in its own decorator
(`opt=needs(Role.X)`); `GET /health` and the OpenAPI pages are the only public ones.

| role | may |
|---|---|
| reader | every GET |
| client | reader + create jobs |
| worker | reader + claim, update, heartbeat, upload results |
| operator | client + cancel and requeue |
| admin | everything, and key management |

With `REVIEW_QUEUE_AUTH=off` there are no keys: every caller may do everything.
"""

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from service.keys import ADMIN_NAME, Principal, Role

ROLE_KEY = "role"
PUBLIC_KEY = "public"
GRANTS: dict[Role, frozenset[Role]] = {
    Role.READER: frozenset({Role.READER}),
    Role.CLIENT: frozenset({Role.READER, Role.CLIENT}),
    Role.WORKER: frozenset({Role.READER, Role.WORKER}),
    Role.OPERATOR: frozenset({Role.READER, Role.CLIENT, Role.OPERATOR}),
    Role.ADMIN: frozenset(Role),
}
ANYONE = Principal("", "anyone", Role.ADMIN)  # the caller when auth is off


def needs(role: Role) -> dict[str, Any]:
    """The `opt` of a route that needs a key with `role`."""
    return {ROLE_KEY: role}


PUBLIC: dict[str, Any] = {PUBLIC_KEY: True}


def route_role(handler: BaseRouteHandler) -> Role | None:
    return handler.opt.get(ROLE_KEY)


def is_public(handler: BaseRouteHandler) -> bool:
    return bool(handler.opt.get(PUBLIC_KEY))


def principal_of(connection: ASGIConnection) -> Principal:
    return connection.scope.get("user") or ANYONE


def require_role(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The guard of every route: the caller's role grants the route's."""
    if is_public(handler) or handler.http_methods == {"OPTIONS"}:
        return
    needed = route_role(handler)
    if needed is None:  # create_app refuses such a route; never reached
        raise PermissionDeniedException("This route declares no role")
    caller = principal_of(connection)
    if needed not in GRANTS[caller.role]:
        raise PermissionDeniedException(
            f"This needs a key with the {needed} role (this key is a {caller.role} key)",
            extra={"needed": needed.value, "role": caller.role.value},
        )


def undeclared(routes: list[Any]) -> list[str]:
    """Routes that declare neither a role nor that they are public (OPTIONS, which Litestar
    answers by itself with the allowed methods, aside)."""
    return [
        f"{method} {route.path}"
        for route in routes
        for handler in route.route_handlers
        for method in sorted(handler.http_methods - {"OPTIONS"})
        if route_role(handler) is None and not is_public(handler)
    ]


def worker_identity(connection: ASGIConnection, asked: str | None) -> str | None:
    """The worker id a claim is made under. A worker key's name is its worker id: it may
    repeat its name, or add `/<instance>` to it (several processes sharing one key), but not
    be another worker. Without keys, and for the admin, the id the caller gives."""
    caller = principal_of(connection)
    if caller.role != Role.WORKER:
        if caller.name == ADMIN_NAME and not asked:
            return ADMIN_NAME
        return asked
    if asked is None or asked == caller.name or asked.startswith(caller.name + "/"):
        return asked or caller.name
    raise PermissionDeniedException(
        f"This key is worker {caller.name!r}: it claims as {caller.name!r} "
        f"(or {caller.name + '/<instance>'!r}), not as {asked!r}",
        extra={"worker_id": asked, "key": caller.name},
    )
