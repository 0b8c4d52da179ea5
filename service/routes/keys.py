"""Key management (admin keys only), and who the caller is."""

from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.access import needs, principal_of
from service.clock import iso
from service.domain import QueueError
from service.key_schemas import CreatedKey, KeyView, Me, NewKey, key_view
from service.keys import KeyExists, Role
from service.routes.deps import IdPath, KeysDep, SettingsDep
from service.routes.docs import BODY_ERRORS, errors


class KeyController(Controller):
    path = "/auth"
    tags = ["access"]

    @post(
        "/keys",
        opt=needs(Role.ADMIN),
        summary="Create an API key; the key itself is in this answer only",
        responses=errors(409, *BODY_ERRORS),
    )
    async def create(self, data: JSONBody[NewKey], keys: KeysDep) -> Response[CreatedKey]:
        try:
            doc = await keys.create(data.name, data.role)
        except KeyExists:
            raise QueueError(
                f"A live key is named {data.name!r} already: revoke it first, or pick another name",
                {"name": data.name},
            ) from None
        created = CreatedKey(
            key_id=doc["_id"],
            name=doc["name"],
            role=doc["role"],
            key=doc["key"],
            created_at=iso(doc["created_at"]),
        )
        return Response(created, status_code=HTTP_201_CREATED)

    @get(
        "/keys",
        opt=needs(Role.ADMIN),
        summary="The live keys (never the keys themselves)",
        responses=errors(bad_request=False),
    )
    async def list_keys(self, keys: KeysDep) -> list[KeyView]:
        return [key_view(doc) for doc in await keys.live()]

    @delete(
        "/keys/{key_id:str}",
        opt=needs(Role.ADMIN),
        status_code=HTTP_200_OK,
        summary="Revoke a key: the next request with it is a 401",
        responses=errors(404, 422),
    )
    async def revoke(self, key_id: IdPath, keys: KeysDep) -> KeyView:
        doc = await keys.revoke(key_id)
        if doc is None:
            raise NotFoundException("No live key with this id", extra={"key_id": key_id})
        return key_view(doc)

    @get(
        "/me",
        opt=needs(Role.READER),
        summary="Who this key is: its name and role",
        responses=errors(bad_request=False),
    )
    async def me(self, request: Request, settings: SettingsDep) -> Me:
        caller = principal_of(request)
        return Me(caller.name, caller.role.value, "required" if settings.auth_required else "off")
