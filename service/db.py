"""Opening the database: real MongoDB through PyMongo's async client, or the embedded store."""

import asyncio
import inspect
import logging
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient, IndexModel

from service.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Connection:
    client: Any
    database: Any
    embedded: bool
    replica_set: bool = False

    async def close(self) -> None:
        if not self.embedded:
            await self.client.close()


async def connect(settings: Settings) -> Connection:
    if settings.embedded:
        from mongomock_motor import AsyncMongoMockClient

        client = AsyncMongoMockClient()
        conn = Connection(client, client[settings.mongodb_db], embedded=True)
    else:
        client = AsyncMongoClient(
            settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=5000
        )
        conn = Connection(client, client[settings.mongodb_db], embedded=False)
        try:
            hello = await client.admin.command("hello")
            conn.replica_set = "setName" in hello
        except Exception:  # an unreachable server is reported by /health, not fatal at start-up
            log.exception("MongoDB did not answer 'hello' at start-up")
    if settings.yield_store_calls:
        conn.database = YieldingDatabase(conn.database)
    return conn


async def create_indexes(collection: Any, indexes: list[IndexModel]) -> None:
    """Create each declared index (a no-op when it exists). mongomock-motor has no
    create_indexes(IndexModel) of its own, so each goes through create_index."""
    for index in indexes:
        options = {k: v for k, v in index.document.items() if k != "key"}
        await collection.create_index(list(index.document["key"].items()), **options)


async def resolve(result: Any) -> Any:
    """PyMongo's async aggregate() is a coroutine; mongomock-motor's returns the cursor itself."""
    if inspect.isawaitable(result):
        return await result
    return result


class YieldingDatabase:
    """Wraps a database so every driver call yields to the event loop before and after.

    mongomock never yields inside a call, so on it a read-then-write looks atomic. Through this
    wrapper, concurrent requests interleave between driver calls as they do on a real server.
    """

    def __init__(self, database: Any) -> None:
        self._database = database

    def __getitem__(self, name: str) -> "_YieldingCollection":
        return _YieldingCollection(self._database[name])

    def __getattr__(self, name: str) -> Any:
        return _yielding(getattr(self._database, name))


class _YieldingCollection:
    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def find(self, *args: Any, **kwargs: Any) -> "_YieldingCursor":
        return _YieldingCursor(self._collection.find(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return _yielding(getattr(self._collection, name))


class _YieldingCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    async def to_list(self, length: int | None = None) -> list:
        await asyncio.sleep(0)
        result = await self._cursor.to_list(length)
        await asyncio.sleep(0)
        return result


def _yielding(attr: Any) -> Any:
    if not callable(attr):
        return attr

    async def call(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0)
        result = await resolve(attr(*args, **kwargs))
        await asyncio.sleep(0)
        return result

    return call
