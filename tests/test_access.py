"""Who may do what: API keys with roles on every route, worker identities, no lease token for
anyone but its holder, revocation, rate limits."""

import asyncio
import re
from dataclasses import replace
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from mongomock_motor import AsyncMongoMockClient

import service.cli_keys
from service.access import GRANTS
from service.app import create_app
from service.cli import main
from service.db import Connection
from service.indexes import ensure_indexes
from service.keys import Role
from service.settings import Settings
from tests.helpers import JSON

ADMIN_KEY = "access-admin-" + "k" * 32
PUBLIC = {
    "GET /health",
    "GET /dashboard",
    "GET /dashboard/assets/{name}",
}
# Answers that never end (a live event stream): only their refusals are tried here.
ENDLESS = {"GET /queue/events"}
SAMPLE_PATH = {
    "job_id": "nope",
    "app_id": "com.example.none",
    "key_id": "nope",
    "schedule_id": "nope",
    "date": "today",
    "name": "app.js",
}


@pytest.fixture
async def keyed(settings: Settings):
    app = create_app(replace(settings, auth="required", admin_key=ADMIN_KEY))
    async with AsyncTestClient(app=app) as http:
        keys = {Role.ADMIN: ADMIN_KEY}
        for role in (Role.READER, Role.CLIENT, Role.WORKER, Role.OPERATOR):
            created = await http.post(
                "/auth/keys",
                json={"name": f"{role}-1", "role": role},
                headers=bearer(ADMIN_KEY),
            )
            assert created.status_code == 201, created.text
            keys[role] = created.json()["key"]
        yield http, keys, app


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def routes(app: Any) -> list[tuple[str, str, Role | None]]:
    found = []
    for route in app.routes:
        if route.path.startswith("/schema"):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods - {"OPTIONS"}):
                found.append((method, route.path.replace(":str", ""), handler.opt.get("role")))
    return found


async def call(http: Any, method: str, path: str, key: str | None) -> Any:
    url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PATH[m.group(1)], path)
    headers = {**(bearer(key) if key else {}), **(JSON if method in ("POST", "PUT") else {})}
    body = b"{}" if method in ("POST", "PUT") else None
    return await http.request(method, url, headers=headers, content=body)


async def test_every_route_declares_its_role_and_only_health_and_the_dashboard_are_public(
    keyed,
):
    _, _, app = keyed
    found = routes(app)
    assert {f"{m} {p}" for m, p, role in found if role is None} == PUBLIC
    assert all(role in Role for _, _, role in found if role is not None)


async def test_each_route_wants_a_key_then_its_role(keyed):
    """No key: 401 with the challenge; a key whose role does not grant the route's: 403 naming
    the role; a key that does: past both (whatever the sample request then gets)."""
    http, keys, app = keyed
    checked = 0
    for method, path, role in routes(app):
        if role is None:
            if "{" not in path:
                assert (await call(http, method, path, None)).status_code == 200, path
            continue
        anonymous = await call(http, method, path, None)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert set(anonymous.json()) >= {"error", "details"}
        wrong = await call(http, method, path, "rq_" + "0" * 24 + "_" + "x" * 43)
        assert wrong.status_code == 401, (method, path)
        for holder, key in keys.items():
            if role in GRANTS[holder] and f"{method} {path}" in ENDLESS:
                continue
            answer = await call(http, method, path, key)
            if role in GRANTS[holder]:
                assert answer.status_code not in (401, 403), (method, path, holder, answer.text)
            else:
                assert answer.status_code == 403, (method, path, holder)
                assert answer.json()["details"]["needed"] == role
                assert role in answer.json()["error"]
        checked += 1
    assert checked >= 20


async def test_a_key_may_come_as_x_api_key(keyed):
    http, keys, _ = keyed
    me = await http.get("/auth/me", headers={"X-API-Key": keys[Role.READER]})
    assert me.status_code == 200 and me.json() == {
        "name": "reader-1",
        "role": "reader",
        "auth": "required",
    }


async def test_keys_are_stored_hashed_listed_without_secrets_and_revoked_at_once(keyed):
    http, keys, app = keyed
    stored = await app.state.key_store.keys.find({}).to_list(None)
    secrets = set(keys.values())
    for doc in stored:
        assert not {str(v) for v in doc.values()} & secrets
        assert re.fullmatch(r"[0-9a-f]{64}", doc["digest"])
    listed = (await http.get("/auth/keys", headers=bearer(ADMIN_KEY))).json()
    assert {k["name"] for k in listed} == {"reader-1", "client-1", "worker-1", "operator-1"}
    assert all(set(k) == {"key_id", "name", "role", "created_at"} for k in listed)
    reader = next(k for k in listed if k["name"] == "reader-1")
    assert (await http.get("/auth/me", headers=bearer(keys[Role.READER]))).status_code == 200
    revoked = await http.delete(f"/auth/keys/{reader['key_id']}", headers=bearer(ADMIN_KEY))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await http.get("/auth/me", headers=bearer(keys[Role.READER]))).status_code == 401
    again = await http.delete(f"/auth/keys/{reader['key_id']}", headers=bearer(ADMIN_KEY))
    assert again.status_code == 404


async def test_a_live_key_name_is_taken_once(keyed):
    http, _, _ = keyed
    taken = await http.post(
        "/auth/keys", json={"name": "worker-1", "role": "worker"}, headers=bearer(ADMIN_KEY)
    )
    assert taken.status_code == 409 and "worker-1" in taken.json()["error"]


@pytest.mark.parametrize("name", ["admin", "Operator", "anyone"])
async def test_no_key_takes_a_name_the_service_acts_under(keyed, name):
    """A worker key named "admin" would claim as the admin key does, and be handed the lease
    tokens of the admin's claims."""
    http, _, _ = keyed
    refused = await http.post(
        "/auth/keys", json={"name": name, "role": "worker"}, headers=bearer(ADMIN_KEY)
    )
    assert refused.status_code == 422 and refused.json()["details"][0]["field"] == "name"
    listed = (await http.get("/auth/keys", headers=bearer(ADMIN_KEY))).json()
    assert name not in {k["name"] for k in listed}


async def test_a_worker_key_claims_as_itself_and_never_as_another(keyed):
    http, keys, _ = keyed
    worker = {**bearer(keys[Role.WORKER]), **JSON}
    for n in range(3):
        added = await http.post(
            "/queue/add", json={"app_id": f"com.key.{n}"}, headers=bearer(keys[Role.CLIENT])
        )
        assert added.status_code == 201
    [mine] = (await http.post("/queue/poll", json={"stage": "scraper"}, headers=worker)).json()
    assert mine["worker_id"] == "worker-1"
    [instance] = (
        await http.post(
            "/queue/poll", json={"stage": "scraper", "worker_id": "worker-1/b"}, headers=worker
        )
    ).json()
    assert instance["worker_id"] == "worker-1/b"
    posing = await http.post(
        "/queue/poll", json={"stage": "scraper"}, headers={**worker, "X-Worker-ID": "someone"}
    )
    assert posing.status_code == 403 and "worker-1" in posing.json()["error"]


async def test_nobody_but_the_holder_sees_a_lease_token(keyed):
    """The issue's disclosure: a stranger who knew the holder's worker id asked for the job
    'processing' and got the live lease token back, then wrote results and completed it."""
    http, keys, _ = keyed
    admin = bearer(ADMIN_KEY)
    stranger = await http.post(
        "/auth/keys", json={"name": "stranger", "role": "worker"}, headers=admin
    )
    stranger_key = {**bearer(stranger.json()["key"]), **JSON}
    holder = {**bearer(keys[Role.WORKER]), **JSON}
    job_id = (
        await http.post("/queue/add", json={"app_id": "com.victim"}, headers=bearer(ADMIN_KEY))
    ).json()["job_id"]
    [claimed] = (await http.post("/queue/poll", json={"stage": "scraper"}, headers=holder)).json()
    token = claimed["lease_token"]

    public = (await http.get(f"/queue/jobs/{job_id}", headers=admin)).json()
    assert public["worker_id"] == "worker-1" and "lease_token" not in public
    retake = {"stage": "scraper", "status": "processing"}
    as_holder = await http.post(
        f"/queue/{job_id}/update", json=retake, headers={**stranger_key, "X-Worker-ID": "worker-1"}
    )
    assert as_holder.status_code == 403 and token not in as_holder.text
    as_itself = await http.post(f"/queue/{job_id}/update", json=retake, headers=stranger_key)
    assert as_itself.status_code == 409 and as_itself.json().get("retry") is True
    assert token not in as_itself.text
    for path in (f"/queue/jobs/{job_id}", f"/queue/jobs/{job_id}/history", "/queue/overview"):
        assert token not in (await http.get(path, headers=admin)).text
    listed = await http.get("/queue/poll?stage=any&status=any&limit=10", headers=admin)
    assert token not in listed.text
    # The holder repeating its own claim gets its token back.
    again = await http.post(f"/queue/{job_id}/update", json=retake, headers=holder)
    assert again.status_code == 200 and again.json()["lease_token"] == token


async def test_requests_over_the_rate_get_429_with_retry_after(settings: Settings):
    limited = replace(settings, auth="required", admin_key=ADMIN_KEY, rate_limit="3/minute")
    async with AsyncTestClient(app=create_app(limited)) as http:
        answers = [await http.get("/auth/me", headers=bearer(ADMIN_KEY)) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert 0 < int(refused.headers["retry-after"]) <= 60
        assert set(refused.json()) >= {"error", "details"}
        # No key, or made-up keys, count against the address, not against the admin's key.
        made_up = [await http.get("/auth/me", headers=bearer(f"made-up-{n}")) for n in range(4)]
        assert [a.status_code for a in made_up] == [401, 401, 401, 429]


def test_auth_is_required_with_mongodb_and_off_on_the_embedded_store():
    assert not Settings().auth_required
    assert Settings(mongodb_uri="mongodb://db:27017").auth_required
    assert not Settings(mongodb_uri="mongodb://db:27017", auth="off").auth_required
    assert Settings(auth="required").auth_required


async def test_with_auth_off_the_start_up_says_anyone_may_do_anything(caplog):
    async with AsyncTestClient(app=create_app(Settings())) as http:
        assert (await http.get("/auth/me")).json()["auth"] == "off"
    assert "anyone who can reach this port may do anything" in caplog.text


def keys_command_on(database, monkeypatch) -> dict[str, str]:
    """`review-queue keys` run on `database` as if it were the MongoDB of MONGODB_URI: the
    environment to invoke it with."""

    async def connect(settings: Settings) -> Connection:
        return Connection(client=None, database=database, embedded=True)

    monkeypatch.setattr(service.cli_keys, "connect", connect)
    return {"MONGODB_URI": "mongodb://db.invalid:27017"}


def test_keys_on_the_command_line(monkeypatch):
    """review-queue keys create / list / revoke against the MongoDB of MONGODB_URI (here an
    embedded database standing in for it); the printed key is the only copy."""
    env = keys_command_on(AsyncMongoMockClient()["cli_keys"], monkeypatch)
    created = CliRunner().invoke(
        main, ["keys", "create", "--name", "scraper-9", "--role", "worker"], env=env
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert re.fullmatch(r"rq_[0-9a-f]{24}_[\w-]{43}", key)
    listed = CliRunner().invoke(main, ["keys", "list"], env=env)
    assert "scraper-9" in listed.output and key not in listed.output
    key_id = listed.output.split()[0]
    assert CliRunner().invoke(main, ["keys", "revoke", key_id], env=env).exit_code == 0
    assert "scraper-9" not in CliRunner().invoke(main, ["keys", "list"], env=env).output
    reserved = CliRunner().invoke(
        main, ["keys", "create", "--name", "admin", "--role", "worker"], env=env
    )
    assert reserved.exit_code == 1 and "acts under" in reserved.output
    no_store = CliRunner().invoke(main, ["keys", "list"], env={"MONGODB_URI": ""})
    assert no_store.exit_code == 2 and "set MONGODB_URI" in no_store.output


def test_the_keys_command_leaves_the_services_indexes_as_they_are(monkeypatch):
    """A deployment keeps 30 days of history: managing keys must not turn its retention off."""
    database = AsyncMongoMockClient()["cli_keys_retention"]
    asyncio.run(ensure_indexes(database, retention_days=30))
    before = asyncio.run(database["jobs"].index_information())
    env = keys_command_on(database, monkeypatch)
    created = CliRunner().invoke(
        main, ["keys", "create", "--name", "w-1", "--role", "worker"], env=env
    )
    assert created.exit_code == 0, created.output
    assert asyncio.run(database["jobs"].index_information()) == before
    assert "finished_ttl" in before
    assert "live_key_names" in asyncio.run(database["api_keys"].index_information())


def test_the_admin_key_comes_from_a_file_and_must_be_long(tmp_path):
    from service.cli import settings_from

    secret = tmp_path / "admin_key"
    secret.write_text(ADMIN_KEY + "\n")
    options = {"timezone": "UTC", "admin_key": None, "admin_key_file": str(secret)}
    assert settings_from(options).admin_key == ADMIN_KEY
    with pytest.raises(Exception, match="at least 32 characters"):
        settings_from({"timezone": "UTC", "admin_key": "short"})
