"""Authentication: the key a request presents (`Authorization: Bearer <key>` or `X-API-Key`)
becomes the request's `user`, a Principal; no key, or one that is not live, is a 401 with
`WWW-Authenticate: Bearer`. Public routes (`opt=PUBLIC`) and the OpenAPI pages skip it."""

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware

from service.access import PUBLIC_KEY
from service.keys import KeyStore

API_KEY_HEADER = "X-API-Key"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="review-queue"'}
OPENAPI_PATHS = ["^/schema"]


def presented_key(connection: ASGIConnection) -> str | None:
    authorization = connection.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return credential.strip()
    return connection.headers.get(API_KEY_HEADER.lower()) or None


class KeyAuthentication(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        key = presented_key(connection)
        if key is None:
            raise NotAuthorizedException(
                f"Send an API key: Authorization: Bearer <key> (or {API_KEY_HEADER})",
                headers=CHALLENGE,
            )
        keys: KeyStore = connection.app.state.key_store
        principal = await keys.authenticate(key)
        if principal is None:
            raise NotAuthorizedException(
                "This API key is not valid (unknown, revoked or mistyped)", headers=CHALLENGE
            )
        return AuthenticationResult(user=principal, auth=principal.key_id)


def authentication() -> DefineMiddleware:
    return DefineMiddleware(
        KeyAuthentication, exclude=OPENAPI_PATHS, exclude_from_auth_key=PUBLIC_KEY
    )
