"""Opening the database: real MongoDB through PyMongo's async client, or the embedded store.

Start-up fails with one line that says what to fix when the server cannot be reached or the
connection string is not one; it never carries on half-connected.
"""

import asyncio
import inspect
import logging
import re
from dataclasses import dataclass
from typing import Any

import pymongo
from pymongo import AsyncMongoClient, ReadPreference, WriteConcern
from pymongo.errors import ConfigurationError, InvalidURI, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.uri_parser import parse_uri

from service.settings import Settings

log = logging.getLogger(__name__)

SERVER_SELECTION_SECONDS = 5.0
# Decisions are made on what the primary holds, and writes are acknowledged by a majority,
# whatever the connection string says (readPreference=secondaryPreferred, w=0 ...): options of
# the collections the service writes, and of every transaction.
PRIMARY = {"read_preference": ReadPreference.PRIMARY, "write_concern": WriteConcern("majority")}
TRANSACTION_OPTIONS = {
    "read_concern": ReadConcern("majority"),
    "write_concern": WriteConcern("majority"),
    "read_preference": ReadPreference.PRIMARY,
}


class StoreUnavailable(Exception):
    """The store cannot be used; the message says why and what to check, in one line."""


@dataclass
class Connection:
    client: Any
    database: Any
    embedded: bool
    transactions: bool = False
    topology: str = "embedded"

    async def close(self) -> None:
        if not self.embedded:
            await self.client.close()


async def connect(settings: Settings) -> Connection:
    if settings.embedded:
        from mongomock_motor import AsyncMongoMockClient

        client = AsyncMongoMockClient()
        conn = Connection(client, client[settings.mongodb_db], embedded=True)
    else:
        conn = await _connect_to_server(settings)
    if settings.yield_store_calls:
        conn.database = YieldingDatabase(conn.database)
    return conn


async def _connect_to_server(settings: Settings) -> Connection:
    uri = settings.mongodb_uri or ""
    try:
        hosts = _hosts(uri)
        client = AsyncMongoClient(
            uri,
            tz_aware=True,
            serverSelectionTimeoutMS=int(SERVER_SELECTION_SECONDS * 1000),
            timeoutMS=int(settings.db_timeout * 1000),
        )
    except (InvalidURI, ConfigurationError, ValueError) as exc:
        raise StoreUnavailable(
            f"MONGODB_URI is not a usable MongoDB connection string ({_first_line(exc)}); "
            "it looks like mongodb://host:27017 or mongodb+srv://cluster.example.net"
        ) from None
    try:
        with pymongo.timeout(SERVER_SELECTION_SECONDS):  # timeoutMS would stretch it
            hello = await client.admin.command("hello")
    except PyMongoError as exc:
        await client.close()
        raise StoreUnavailable(
            f"Cannot reach MongoDB at {hosts} within {SERVER_SELECTION_SECONDS:g} s: "
            f"check MONGODB_URI and that the server is up ({_first_line(exc)})"
        ) from None
    topology = topology_of(hello, load_balanced=bool(client.options.load_balanced))
    return Connection(
        client,
        client[settings.mongodb_db],
        embedded=False,
        transactions=topology != "standalone",
        topology=topology,
    )


def _hosts(uri: str) -> str:
    """Where a connection string points, without its credentials."""
    if uri.startswith("mongodb+srv://"):  # parse_uri would look the SRV record up
        return "the hosts of " + uri.removeprefix("mongodb+srv://").split("/")[0].split("@")[-1]
    return ", ".join(f"{host}:{port}" for host, port in parse_uri(uri)["nodelist"])


def topology_of(hello: dict, *, load_balanced: bool = False) -> str:
    """What the server is: transactions need a replica set, a sharded cluster (mongos) or a
    load balancer in front of either; a standalone server has none."""
    if load_balanced:
        return "load balancer"
    if hello.get("msg") == "isdbgrid":
        return "sharded cluster"
    if "setName" in hello:
        return "replica set"
    return "standalone"


def _first_line(exc: BaseException) -> str:
    """The gist of a driver error: its first line, without the topology and timeout dump."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    first = re.sub(r" \(configured timeouts:[^)]*\)", "", first).split(", Timeout:")[0]
    return first if len(first) <= 200 else first[:197] + "..."


async def check_store(settings: Settings) -> str:
    """Connect, say what was found, close: raises StoreUnavailable with the reason."""
    conn = await connect(settings)
    try:
        return describe(conn, settings)
    finally:
        await conn.close()


def describe(conn: Connection, settings: Settings) -> str:
    if conn.embedded:
        return "the embedded in-memory store (MONGODB_URI is not set): nothing persists"
    transactions = "transactions on" if conn.transactions else "no transactions"
    return f"MongoDB database {settings.mongodb_db!r} on a {conn.topology} ({transactions})"


async def resolve(result: Any) -> Any:
    """PyMongo's async aggregate() is a coroutine; mongomock-motor's returns the cursor itself."""
    if inspect.isawaitable(result):
        return await result
    return result


async def aggregated(collection: Any, pipeline: list[dict]) -> list[dict]:
    """Every document an aggregation gives, on either driver."""
    cursor = await resolve(collection.aggregate(pipeline))
    return await cursor.to_list(None)


class YieldingDatabase:
    """Wraps a database so every driver call yields to the event loop before and after.

    mongomock never yields inside a call, so on it a read-then-write looks atomic. Through this
    wrapper, concurrent requests interleave between driver calls as they do on a real server.
    """

    def __init__(self, database: Any) -> None:
        self._database = database

    def __getitem__(self, name: str) -> "_YieldingCollection":
        return _YieldingCollection(self._database[name])

    def get_collection(self, name: str, **options: Any) -> "_YieldingCollection":
        return _YieldingCollection(self._database.get_collection(name, **options))

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
