"""Fixtures: every API and store test runs on the embedded store, and again on a real MongoDB
when TEST_MONGODB_URI is set (skipped with that reason otherwise)."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings

REAL_MONGODB_URI = os.environ.get("TEST_MONGODB_URI")


def backend_settings(backend: str, **overrides) -> Iterator[Settings]:
    if backend == "embedded":
        yield Settings(**overrides)
        return
    if not REAL_MONGODB_URI:
        pytest.skip("TEST_MONGODB_URI is not set: no real MongoDB server to test against")
    from pymongo import MongoClient

    name = f"review_queue_test_{uuid.uuid4().hex[:12]}"
    # Keys are off here as on the embedded store, so the same tests run on both;
    # tests/test_access.py turns them on.
    yield Settings(mongodb_uri=REAL_MONGODB_URI, mongodb_db=name, **{"auth": "off", **overrides})
    with MongoClient(REAL_MONGODB_URI) as client:
        client.drop_database(name)


@pytest.fixture(params=["embedded", "mongodb"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str) -> Iterator[Settings]:
    yield from backend_settings(backend)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
async def connection(settings: Settings):
    """The store's database connection itself, for tests of the store classes."""
    from service.db import connect

    conn = await connect(settings)
    yield conn
    await conn.close()
