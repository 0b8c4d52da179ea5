"""GET /dashboard without a browser: a public page that holds no data, locked to this origin by
its Content-Security-Policy, whose files all come from the service itself; the small routes it
reads (the oldest waiting job per stage, an app's runs). tests/test_dashboard_browser.py drives
it in Chromium."""

import re
from dataclasses import replace
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.routes.dashboard import DASHBOARD
from tests.helpers import JSON, add, claim, update

ADMIN_KEY = "dashboard-admin-" + "k" * 32
ASSETS = sorted(p for p in (DASHBOARD / "assets").iterdir() if p.is_file())
# Namespace names, not addresses anything is fetched from.
NAMESPACES = {"http://www.w3.org/2000/svg"}


@pytest.fixture
async def keyed(settings):
    app = create_app(replace(settings, auth="required", admin_key=ADMIN_KEY))
    async with AsyncTestClient(app=app) as http:
        yield http


async def test_the_page_is_public_and_says_only_whether_a_key_is_needed(keyed, client):
    page = await keyed.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<meta name="review-queue-auth" content="required">' in page.text
    assert "{{auth}}" not in page.text
    open_page = await client.get("/dashboard")  # REVIEW_QUEUE_AUTH off
    assert '<meta name="review-queue-auth" content="off">' in open_page.text


async def test_the_page_may_load_nothing_from_elsewhere(keyed):
    page = await keyed.get("/dashboard")
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src"):
        assert policy[directive] == "'self'", directive  # no inline script or style, no CDN
    assert policy["frame-ancestors"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ASSETS, ids=lambda p: p.name)
async def test_every_file_is_served_from_the_service_and_names_no_other_host(keyed, path: Path):
    answer = await keyed.get(f"/dashboard/assets/{path.name}")  # no key: the files hold no data
    assert answer.status_code == 200
    assert answer.headers["x-content-type-options"] == "nosniff"
    addresses = set(re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[a-z]{2,}[^\s\"'`)]*", answer.text))
    assert addresses <= NAMESPACES, addresses
    assert "@import" not in answer.text and "fonts." not in answer.text


async def test_the_page_refers_only_to_files_that_exist(keyed):
    page = (await keyed.get("/dashboard")).text
    referred = set(re.findall(r'(?:src|href)="(/dashboard/assets/[^"]+)"', page))
    assert referred
    for path in referred:
        assert (await keyed.get(path)).status_code == 200, path
    script = (DASHBOARD / "assets" / "app.js").read_text()
    for module in re.findall(r'from "\./([^"]+)"', script):
        assert (DASHBOARD / "assets" / module).is_file(), module


@pytest.mark.parametrize(
    "name",
    ["nope.js", "%00", "app.js%00", "..%2F..%2Fpyproject.toml", "%2e%2e", "index.html"],
)
async def test_an_unknown_file_is_a_404_in_the_error_shape(keyed, name):
    """Only the dashboard's own files: no name from a request reaches the file system."""
    answer = await keyed.get(f"/dashboard/assets/{name}")
    assert answer.status_code == 404, answer.text
    assert set(answer.json()) >= {"error", "details"}


def test_the_scripts_keep_the_key_in_session_storage_and_send_it_as_a_header():
    api = (DASHBOARD / "assets" / "api.js").read_text()
    assert "sessionStorage" in api and "localStorage" not in api
    assert "document.cookie" not in api and "EventSource" not in api.replace("not EventSource", "")
    assert "Authorization" in api and "Last-Event-ID" in api
    everything = "".join(p.read_text() for p in ASSETS if p.suffix == ".js")
    assert "innerHTML" not in everything  # text from the API is never read as markup


# The routes the dashboard reads


async def test_the_oldest_waiting_job_of_each_stage(client):
    assert (await client.get("/queue/oldest-waiting")).json() == {"scraper": None, "nlp": None}
    first = await add(client, "com.oldest.first", priority=1)
    await add(client, "com.oldest.second", priority=10)
    [claimed] = await claim(client, "scraper")  # the urgent one: claim order is priority first
    assert claimed["app_id"] == "com.oldest.second"
    moved = await update(
        client, claimed["job_id"], "nlp", "queued", lease_token=claimed["lease_token"]
    )
    assert moved.status_code == 200
    oldest = (await client.get("/queue/oldest-waiting")).json()
    assert oldest["scraper"]["job_id"] == first["job_id"]  # waited longest, whatever its priority
    assert oldest["nlp"]["app_id"] == "com.oldest.second"


async def test_an_apps_runs_active_first_then_newest(client):
    first = await add(client, "com.runs.app")
    answer = await client.post(f"/queue/{first['job_id']}/cancel", headers=JSON)
    assert answer.status_code == 200
    second = await add(client, "com.runs.app")
    runs = (await client.get("/apps/com.runs.app/jobs")).json()
    assert [r["job_id"] for r in runs] == [second["job_id"], first["job_id"]]
    assert (await client.get("/apps/com.runs.none/jobs")).json() == []
    limited = await client.get("/apps/com.runs.app/jobs", params={"limit": 1})
    assert len(limited.json()) == 1
    assert (await client.get("/apps/com.runs.app/jobs", params={"limit": 0})).status_code == 422
