"""Bodies of the key management API (msgspec structs)."""

from typing import Annotated, Literal

from msgspec import Meta, Struct

from service.clock import iso
from service.keys import Role

KeyName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Who holds the key; a worker key's name is its worker id",
        examples=["scraper-1"],
    ),
]


class NewKey(Struct, forbid_unknown_fields=True):
    name: KeyName
    role: Role


class KeyView(Struct, omit_defaults=True):
    key_id: str
    name: str
    role: str
    created_at: str
    revoked_at: str | None = None


class CreatedKey(Struct):
    key_id: str
    name: str
    role: str
    key: Annotated[str, Meta(description="The key itself: shown this once, never again")]
    created_at: str


class Me(Struct):
    name: str
    role: str
    auth: Literal["required", "off"]


def key_view(doc: dict) -> KeyView:
    return KeyView(
        key_id=doc["_id"],
        name=doc["name"],
        role=doc["role"],
        created_at=iso(doc["created_at"]),
        revoked_at=iso(doc.get("revoked_at")),
    )
