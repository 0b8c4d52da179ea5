"""A database wrapper that records every command the service sends, in order.

    database = RecordingDatabase(real_or_embedded_database)
    ... drive the store or the app with it ...
    database.commands  # [Command(collection, method, filter, sort, ...), ...]

Each call of a collection method is one command (one round trip): `find` is recorded when its
cursor is read, `bulk_write` once with the filter of each of its operations. A write's
`session` keyword is recorded and, with `strip_sessions` (mongomock has no sessions), not
passed on.
"""

import copy
from dataclasses import dataclass, field
from typing import Any

from service.db import resolve

WRITES = {
    "insert_one",
    "insert_many",
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
    "update_one",
    "update_many",
    "replace_one",
    "delete_one",
    "delete_many",
    "bulk_write",
}
# Methods whose first argument is a query filter.
FILTERED = {
    "find",
    "find_one",
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
    "update_one",
    "update_many",
    "replace_one",
    "delete_one",
    "delete_many",
    "count_documents",
}
# Index management at start-up: recorded, but not queries.
ADMIN = {"create_index", "create_indexes", "drop_index", "index_information", "list_indexes"}
NOT_GIVEN = object()


@dataclass
class Command:
    collection: str
    method: str
    filter: dict | None = None
    sort: list | None = None
    pipeline: list | None = None
    update: Any = None
    session: Any = NOT_GIVEN
    in_transaction: bool = False
    filters: list[dict] = field(default_factory=list)  # bulk_write: one per operation

    @property
    def is_query(self) -> bool:
        return self.method not in ADMIN and self.method not in ("insert_one", "insert_many")


class RecordingDatabase:
    def __init__(self, database: Any, *, strip_sessions: bool = False) -> None:
        self._database = database
        self._strip_sessions = strip_sessions
        self.commands: list[Command] = []

    def __getitem__(self, name: str) -> "RecordingCollection":
        return RecordingCollection(self._database[name], name, self)

    def get_collection(self, name: str, **options: Any) -> "RecordingCollection":
        return RecordingCollection(self._database.get_collection(name, **options), name, self)

    async def command(self, *args: Any, **kwargs: Any) -> Any:
        name = args[0] if isinstance(args[0], str) else next(iter(args[0]))
        self.commands.append(Command("$cmd", name))
        return await self._database.command(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._database, name)

    def queries(self) -> list[Command]:
        return [c for c in self.commands if c.is_query]


class RecordingCollection:
    def __init__(self, collection: Any, name: str, database: RecordingDatabase) -> None:
        self._collection = collection
        self._name = name
        self._database = database

    def _record(self, method: str, args: tuple, given: dict) -> Command:
        command = Command(self._name, method)
        args, kwargs = copy.deepcopy((args, {k: v for k, v in given.items() if k != "session"}))
        if method in FILTERED:
            command.filter = args[0] if args else kwargs.get("filter", {})
            command.sort = kwargs.get("sort")
        if method in ("find_one_and_update", "update_one", "update_many"):
            command.update = args[1] if len(args) > 1 else kwargs.get("update")
        if method == "aggregate":
            command.pipeline = args[0] if args else kwargs.get("pipeline")
        if method == "distinct":
            command.filter = args[1] if len(args) > 1 else kwargs.get("filter", {})
        if method == "bulk_write":
            command.filters = [op._filter for op in args[0]]
        session = given.get("session", NOT_GIVEN)
        command.session = session
        command.in_transaction = bool(getattr(session, "in_transaction", False))
        self._database.commands.append(command)
        return command

    def find(self, *args: Any, **kwargs: Any) -> "RecordingCursor":
        return RecordingCursor(self, self._collection.find(*args, **kwargs), args, kwargs)

    def __getattr__(self, method: str) -> Any:
        attr = getattr(self._collection, method)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._record(method, args, kwargs)
            if method in WRITES and self._database._strip_sessions:
                kwargs["session"] = None
            return attr(*args, **kwargs)

        return call


class RecordingCursor:
    def __init__(
        self, collection: RecordingCollection, cursor: Any, args: tuple, kwargs: dict
    ) -> None:
        self._collection = collection
        self._cursor = cursor
        self._args = args
        self._kwargs = kwargs

    async def to_list(self, length: int | None = None) -> list:
        self._collection._record("find", self._args, self._kwargs)
        return await resolve(self._cursor.to_list(length))
