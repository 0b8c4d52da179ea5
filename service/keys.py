"""API keys: created with a role, stored hashed in `api_keys`, looked up through a short cache.

A key reads `rq_<key_id>_<secret>`: the key id finds the stored key, and the SHA-256 of the
whole key is compared with the stored one in constant time. The key itself is never stored
and is shown once, when it is created. (A fast hash is enough: the secret is 256 random
bits, not a password someone chose.)

Lookups are cached for `CACHE_SECONDS`, so authenticating costs no round trip on most
requests. A revoked key is dropped from this process's cache at once; another replica of the
service may accept it until its cached entry expires (at most `CACHE_SECONDS`).
"""

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from service.clock import utcnow
from service.db import PRIMARY
from service.domain import InvalidField

CACHE_SECONDS = 10.0
CACHE_ENTRIES = 10_000
KEY_FORMAT = re.compile(r"^rq_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$")
ADMIN_NAME = "admin"
# names the service itself acts under: the admin key's claims, operator actions in history,
# and the caller when auth is off; a key by one of them would pass for the service
RESERVED_NAMES = frozenset({ADMIN_NAME, "operator", "anyone"})
MIN_ADMIN_KEY_LENGTH = 32


class Role(StrEnum):
    READER = "reader"
    CLIENT = "client"
    WORKER = "worker"
    OPERATOR = "operator"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id, name (a worker key's name is its worker id) and role."""

    key_id: str
    name: str
    role: Role


ADMIN = Principal(ADMIN_NAME, ADMIN_NAME, Role.ADMIN)


class KeyExists(Exception):
    pass


def generate_key() -> tuple[str, str]:
    """(key_id, key) for a new key."""
    key_id = str(ObjectId())
    return key_id, f"rq_{key_id}_{secrets.token_urlsafe(32)}"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    def __init__(self, database: Any, *, admin_key: str | None = None) -> None:
        self.keys = database.get_collection("api_keys", **PRIMARY)
        self._admin_digest = digest(admin_key) if admin_key else None
        self._cache: OrderedDict[str, tuple[float, dict | None]] = OrderedDict()

    async def create(self, name: str, role: Role, *, now: datetime | None = None) -> dict:
        """Store a new key; its document with the key itself under `key` (shown this once)."""
        if name.lower() in RESERVED_NAMES:
            raise InvalidField("name", f"{name!r} is a name the service acts under: pick another")
        key_id, key = generate_key()
        doc = {
            "_id": key_id,
            "name": name,
            "role": role.value,
            "digest": digest(key),
            "active": True,
            "created_at": now or utcnow(),
        }
        try:
            await self.keys.insert_one(doc)
        except DuplicateKeyError:
            raise KeyExists(name) from None
        return {**doc, "key": key}

    async def live(self) -> list[dict]:
        return await self.keys.find({"active": True}, sort=[("name", 1)]).to_list(None)

    async def revoke(self, key_id: str) -> dict | None:
        """Revoke a live key (None when there is no such live key)."""
        self._cache.pop(key_id, None)
        return await self.keys.find_one_and_update(
            {"_id": key_id, "active": True},
            {"$set": {"active": False, "revoked_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )

    def known(self, presented: str) -> Principal | None:
        """Who the key is, from the admin key or the cache alone (no round trip); None when
        that needs a lookup or the key is not one."""
        if self._is_admin(presented):
            return ADMIN
        key_id = _key_id(presented)
        cached = self._fresh(key_id) if key_id else None
        return _principal(cached[0], presented) if cached else None

    async def authenticate(self, presented: str) -> Principal | None:
        """Who the key is, or None when it is not a live key: the cache first, then a lookup."""
        if self._is_admin(presented):
            return ADMIN
        key_id = _key_id(presented)
        if key_id is None:
            return None
        return _principal(await self._live(key_id), presented)

    async def still_live(self, caller: Principal) -> bool:
        """Whether the key a request authenticated with is still live (the cache first): a
        request that stays open, such as an event stream, asks as it goes."""
        return caller is ADMIN or await self._live(caller.key_id) is not None

    async def _live(self, key_id: str) -> dict | None:
        """The live key of this id, or None: the cache first, then a lookup."""
        cached = self._fresh(key_id)
        if cached is None:
            doc = await self.keys.find_one({"_id": key_id, "active": True})
            self._remember(key_id, doc)
            cached = (doc,)
        return cached[0]

    def _fresh(self, key_id: str) -> tuple[dict | None] | None:
        """(the stored key or None) when this process looked it up lately; None when not."""
        entry = self._cache.get(key_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return (entry[1],)

    def _is_admin(self, presented: str) -> bool:
        return self._admin_digest is not None and hmac.compare_digest(
            digest(presented), self._admin_digest
        )

    def _remember(self, key_id: str, doc: dict | None) -> None:
        self._cache[key_id] = (time.monotonic() + CACHE_SECONDS, doc)
        self._cache.move_to_end(key_id)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)


def _key_id(presented: str) -> str | None:
    matched = KEY_FORMAT.match(presented)
    return matched.group(1) if matched else None


def _principal(doc: dict | None, presented: str) -> Principal | None:
    if doc is None or not hmac.compare_digest(doc["digest"], digest(presented)):
        return None
    return Principal(doc["_id"], doc["name"], Role(doc["role"]))
