"""`review-queue keys`: create, list and revoke API keys in the MongoDB of MONGODB_URI."""

import asyncio
from typing import Any

import click

from service.cli_options import mongodb_db_option, mongodb_uri_option
from service.db import StoreUnavailable, connect
from service.domain import InvalidField
from service.indexes import ensure_key_indexes
from service.keys import KeyExists, KeyStore, Role
from service.settings import Settings

ROLES = [role.value for role in Role]


@click.group()
@mongodb_uri_option("Where the keys are stored.")
@mongodb_db_option
@click.pass_context
def keys(ctx: click.Context, mongodb_uri: str | None, mongodb_db: str) -> None:
    """API keys, stored hashed in MongoDB (the service's `api_keys`)."""
    if not mongodb_uri:
        raise click.UsageError(
            "keys live in MongoDB: set MONGODB_URI. (The embedded store forgets everything "
            "when the service stops: run it with REVIEW_QUEUE_ADMIN_KEY and create keys with "
            "POST /auth/keys instead.)"
        )
    ctx.obj = Settings(mongodb_uri=mongodb_uri, mongodb_db=mongodb_db)


@keys.command()
@click.option("--name", required=True, help="Who holds it; a worker key's name is its worker id.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What it may do.")
@click.pass_obj
def create(settings: Settings, name: str, role: str) -> None:
    """Create a key and print it: it is shown this once, and stored only hashed."""

    async def run(store: KeyStore) -> dict:
        return await store.create(name, Role(role))

    try:
        created = _with_keys(settings, run)
    except KeyExists:
        raise click.ClickException(f"a live key is named {name!r} already") from None
    except InvalidField as exc:
        raise click.ClickException(exc.details[0]["message"]) from None
    click.echo(created["key"])
    click.echo(f"key_id {created['_id']}, name {name}, role {role}", err=True)


@keys.command(name="list")
@click.pass_obj
def list_keys(settings: Settings) -> None:
    """The live keys: id, name, role, created (never the keys themselves)."""

    async def run(store: KeyStore) -> list[dict]:
        return await store.live()

    for doc in _with_keys(settings, run):
        click.echo(f"{doc['_id']}  {doc['name']}  {doc['role']}  {doc['created_at']:%Y-%m-%d}")


@keys.command()
@click.argument("key_id")
@click.pass_obj
def revoke(settings: Settings, key_id: str) -> None:
    """Revoke a key by its id (`keys list`)."""

    async def run(store: KeyStore) -> Any:
        return await store.revoke(key_id)

    if _with_keys(settings, run) is None:
        raise click.ClickException(f"no live key with id {key_id}")
    click.echo(f"revoked {key_id}")


def _with_keys(settings: Settings, action: Any) -> Any:
    async def run() -> Any:
        connection = await connect(settings)
        try:
            await ensure_key_indexes(connection.database)
            return await action(KeyStore(connection.database))
        finally:
            await connection.close()

    try:
        return asyncio.run(run())
    except StoreUnavailable as exc:
        raise click.ClickException(str(exc)) from None
