"""Start-up brings a database in line with the declared indexes: obsolete ones dropped, the
retention TTLs created, changed in place, or dropped; and the TTLs delete only what finished."""

from datetime import timedelta
from typing import Any

from mongomock_motor import AsyncMongoMockClient

from service.clock import utcnow
from service.indexes import DAY_SECONDS, OBSOLETE, declared, ensure_indexes


def names(models: dict) -> dict[str, set[str]]:
    return {collection: {m.document["name"] for m in found} for collection, found in models.items()}


def test_retention_adds_a_ttl_index_on_finished_jobs_and_on_history_rows():
    with_ttl = declared(retention_days=30)
    ttl = {
        m.document["name"]: m.document
        for found in with_ttl.values()
        for m in found
        if "expireAfterSeconds" in m.document
    }
    assert ttl["finished_ttl"]["key"] == {"finished_at": 1}
    assert ttl["history_ttl"]["key"] == {"timestamp": 1}
    assert {d["expireAfterSeconds"] for d in ttl.values()} == {30 * DAY_SECONDS}
    assert "finished_ttl" not in names(declared(retention_days=None))["jobs"]
    assert "reviews" in with_ttl and "summaries" not in with_ttl  # the product stays


async def test_start_up_drops_obsolete_indexes_and_is_idempotent():
    database = AsyncMongoMockClient()["upgrade"]
    for name in OBSOLETE["jobs"]:
        await database["jobs"].create_index([(name + "_field", 1)], name=name)
    await ensure_indexes(database, 30)
    await ensure_indexes(database, 30)
    found = set(await database["jobs"].index_information())
    assert not found & set(OBSOLETE["jobs"])
    assert names(declared(30))["jobs"] <= found


class CommandLog:
    """A database whose collections are mongomock's and whose commands are recorded."""

    def __init__(self) -> None:
        self._database = AsyncMongoMockClient()["ttl"]
        self.commands: list[dict] = []

    def __getitem__(self, name: str) -> Any:
        return self._database[name]

    async def command(self, command: dict) -> dict:
        self.commands.append(command)
        return {"ok": 1}


async def test_a_retention_change_alters_the_ttl_in_place_and_off_drops_it():
    database = CommandLog()
    await ensure_indexes(database, 30)
    # What a server holding 30 days would have after collMod to 7: simulated by the command.
    await ensure_indexes(database, 7)
    assert {"collMod": "jobs", "index": {"name": "finished_ttl", "expireAfterSeconds": 604800}} in (
        database.commands
    )
    await ensure_indexes(database, None)
    assert "finished_ttl" not in await database["jobs"].index_information()
    assert "history_ttl" not in await database["job_history"].index_information()


async def test_the_ttl_deletes_jobs_finished_before_the_retention_and_nothing_active():
    database = AsyncMongoMockClient()["expiry"]
    long_ago, recently = utcnow() - timedelta(days=31), utcnow() - timedelta(days=29)
    await database["jobs"].insert_many(
        [
            {"_id": "old-done", "app_id": "a", "status": "completed", "finished_at": long_ago},
            {"_id": "new-done", "app_id": "b", "status": "completed", "finished_at": recently},
            {"_id": "old-active", "app_id": "c", "status": "queued", "active": True},
        ]
    )
    await ensure_indexes(database, 30)
    left = {job["_id"] for job in await database["jobs"].find({}).to_list(None)}
    assert left == {"new-done", "old-active"}
