"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright for Python
(launched with `executable_path`: nothing downloads a browser). Against `review-queue serve`
on loopback with keys required, as deployed.

- every page loads with no console error and no request leaving 127.0.0.1;
- a job added through the API appears without a reload, and its progress moves;
- a requeue click on a dead letter moves it (operator key; a reader key sees no buttons);
- an app page draws its charts from the stored summary.

Screenshots of each page go to `artifacts/browser/` (not committed). Skipped, with the reason,
when Playwright or /usr/bin/chromium is missing (`.ci/run` installs Chromium).
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.serving import ROOT, running_service

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = os.environ.get("REVIEW_QUEUE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = ROOT / "artifacts" / "browser"
ADMIN_KEY = "browser-admin-" + "k" * 32
WAIT_MS = 10_000

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed"
)
if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    pytest.skip(
        f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)",
        allow_module_level=True,
    )


class Api:
    """The service through its HTTP API, with a key per role."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)
        self.keys = {"admin": ADMIN_KEY}
        for role in ("reader", "client", "worker", "operator"):
            created = self.call("admin", "POST", "/auth/keys", {"name": f"ui-{role}", "role": role})
            self.keys[role] = created["key"]

    def call(self, role: str, method: str, path: str, body: dict | None = None, **headers) -> dict:
        headers = {"Authorization": f"Bearer {self.keys[role]}", **headers}
        if method in ("POST", "PUT"):  # JSON, with a body or without one
            headers["Content-Type"] = "application/json"
        answer = self.http.request(method, path, headers=headers, json=body)
        assert answer.status_code < 300, (method, path, answer.status_code, answer.text)
        return answer.json()

    def add(self, app_id: str) -> str:
        return self.call("client", "POST", "/queue/add", {"app_id": app_id})["job_id"]

    def claim(self, job_id: str, stage: str) -> str:
        """Claim this very job (the seed's update to processing), as the worker key."""
        body = {"stage": stage, "status": "processing"}
        return self.call("worker", "POST", f"/queue/{job_id}/update", body)["lease_token"]

    def move(self, job_id: str, stage: str, status: str, token: str, **fields) -> dict:
        body = {"stage": stage, "status": status, "lease_token": token, **fields}
        return self.call("worker", "POST", f"/queue/{job_id}/update", body)

    def dead_letter(self, app_id: str) -> str:
        job_id = self.add(app_id)
        token = self.claim(job_id, "scraper")
        self.move(job_id, "scraper", "error", token, error_message="app not found", retryable=False)
        return job_id

    def completed_with_summary(self, app_id: str, summary: dict) -> str:
        job_id = self.add(app_id)
        token = self.claim(job_id, "scraper")
        reviews = [
            {
                "review_id": f"r{n}",
                "content": "Great app" if n % 3 else "Crashes on start",
                "score": 5 if n % 3 else 1,
                "at": f"2026-03-{1 + n % 5:02d}T10:00:00Z",
            }
            for n in range(12)
        ]
        self.call(
            "worker",
            "POST",
            f"/apps/{app_id}/reviews",
            {"job_id": job_id, "lease_token": token, "reviews": reviews},
        )
        self.move(job_id, "nlp", "queued", token)
        token = self.claim(job_id, "nlp")
        self.call(
            "worker",
            "PUT",
            f"/apps/{app_id}/analysis",
            {"job_id": job_id, "lease_token": token, "reviews": [], "summary": summary},
        )
        self.move(job_id, "done", "completed", token)
        return job_id


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    env = {"REVIEW_QUEUE_AUTH": "required", "REVIEW_QUEUE_ADMIN_KEY": ADMIN_KEY}
    with running_service(env) as url:
        service = Api(url)
        yield service
        service.http.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page whose console errors and requests are recorded; requests for anywhere but
    127.0.0.1 are refused and recorded."""

    def __init__(self, browser, api: Api) -> None:
        self.api = api
        self.context = browser.new_context(viewport={"width": 1360, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.context.route("**/*", self._route)

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def _route(self, route) -> None:
        url = route.request.url
        self.requests.append(url)
        host = urlparse(url).hostname
        if url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, role: str, hash_: str = "#/") -> None:
        """The dashboard, with the key of `role` typed in once."""
        self.page.goto(f"{self.api.url}/dashboard{hash_}")
        self.page.fill("#key-input", self.api.keys[role])
        self.page.click("#key-entry button[type=submit]")
        self.page.wait_for_selector('#live[data-state="live"]', timeout=WAIT_MS)

    def go(self, hash_: str, ready: str) -> None:
        self.page.evaluate(f"location.hash = {hash_!r}")
        self.page.wait_for_selector(ready, timeout=WAIT_MS)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.wait_for_timeout(300)  # let transitions settle
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser, api) -> Iterator[Watched]:
    page = Watched(browser, api)
    yield page
    page.close()


SUMMARY = {
    "review_count": 120,
    "average_rating": 3.6,
    "rating_distribution": {"1": 20, "2": 10, "3": 12, "4": 28, "5": 50},
    "sentiment": {"positive": 70, "neutral": 14, "negative": 36},
    "top_keywords": {"positive": ["offline maps"], "negative": ["crash"]},
    "top_praises": [
        {
            "theme": "offline maps",
            "language": "en",
            "review_count": 31,
            "share": 0.26,
            "example_review_ids": ["r1"],
            "per_week": {"2026-W10": 31},
            "per_version": {"2.1": 31},
        },
        {
            "theme": "clean design",
            "language": "en",
            "review_count": 17,
            "share": 0.14,
            "example_review_ids": ["r2"],
            "per_week": {},
            "per_version": {},
        },
    ],
    "top_issues": [
        {
            "theme": "crashes on start",
            "language": "en",
            "review_count": 22,
            "share": 0.18,
            "example_review_ids": ["r0"],
            "per_week": {},
            "per_version": {},
        }
    ],
    "languages": {"en": 100, "de": 20},
    "per_day": {"2026-03-01": 40, "2026-03-02": 25, "2026-03-04": 55},
}


def test_every_page_loads_with_no_console_error_and_nothing_from_outside(watched, api):
    app_job = api.completed_with_summary("com.ui.tour", SUMMARY)
    api.dead_letter("com.ui.tour-dead")
    api.add("com.ui.tour-waiting")

    page = watched.page
    page.goto(f"{api.url}/dashboard")
    page.wait_for_selector("#key-input")
    watched.shot("00-key")
    watched.open("reader")
    page.wait_for_selector('#active-jobs tr[data-app-id="com.ui.tour-waiting"]', timeout=WAIT_MS)
    page.wait_for_selector('svg[data-chart="jobs-per-hour"]', timeout=WAIT_MS)
    # The worker that ran the tour's jobs, with what it did today (GET /workers).
    worker = page.wait_for_selector('#workers tr[data-worker-id="ui-worker"]', timeout=WAIT_MS)
    assert "scraper" in worker.inner_text() and "nlp" in worker.inner_text()
    watched.shot("01-queue")
    watched.go("#/dead-letters", '#dead-letters tr[data-app-id="com.ui.tour-dead"]')
    watched.shot("02-dead-letters-reader")
    watched.go(f"#/jobs/{app_job}", "ol.timeline li[data-event=completed]")
    watched.shot("03-job")
    watched.go("#/apps/com.ui.tour", 'svg[data-chart="sentiment"]')
    watched.shot("04-app")
    watched.go("#/reports", 'svg[data-chart="stage-percentiles"]')
    watched.shot("05-reports-today")

    assert watched.errors == []
    assert watched.outside == []
    assert all(urlparse(u).hostname == "127.0.0.1" for u in watched.requests)
    # The key is kept for the tab, sent as a header: never in an address or a cookie.
    key = api.keys["reader"]
    assert page.evaluate("sessionStorage.getItem('review-queue.key')") == key
    assert watched.context.cookies() == []
    assert not any(key in u for u in watched.requests) and key not in page.url
    # The page says so: a reader key is shown as one.
    assert page.inner_text("#who").split() == ["ui-reader", "reader"]


def test_a_job_added_through_the_api_appears_without_a_reload(watched, api):
    watched.open("reader")
    page = watched.page
    page.evaluate("window.__same_page = true")
    page.wait_for_selector("#active-jobs tbody tr", timeout=WAIT_MS)

    job_id = api.add("com.ui.live")
    row = f'#active-jobs tr[data-job-id="{job_id}"]'
    page.wait_for_selector(row, timeout=WAIT_MS)
    assert page.inner_text(f"{row} .badge") == "queued"

    token = api.claim(job_id, "scraper")
    page.wait_for_selector(f"{row} .badge.s-processing", timeout=WAIT_MS)
    beat = {"lease_token": token, "progress": 60, "message": "page 3 of 5"}
    api.call("worker", "POST", f"/queue/{job_id}/heartbeat", beat)
    page.wait_for_selector(f'{row} .progress[data-value="60"]', timeout=WAIT_MS)
    assert "page 3 of 5" in page.inner_text(row)
    page.wait_for_selector('.feed li[data-event="claimed"]', timeout=WAIT_MS)
    watched.shot("06-queue-live")

    assert page.evaluate("window.__same_page") is True  # no reload happened
    assert watched.errors == [] and watched.outside == []


def test_a_requeue_click_moves_a_dead_letter(watched, browser, api):
    job_id = api.dead_letter("com.ui.requeue")
    row = f'#dead-letters tr[data-job-id="{job_id}"]'

    # A reader key sees the dead letter but no buttons.
    watched.open("reader", "#/dead-letters")
    watched.page.wait_for_selector(row, timeout=WAIT_MS)
    assert watched.page.query_selector(f"{row} button") is None
    watched.close()

    operator = Watched(browser, api)
    try:
        operator.open("operator", "#/dead-letters")
        page = operator.page
        page.wait_for_selector(f"{row} button[data-action=requeue]", timeout=WAIT_MS)
        operator.shot("07-dead-letters-operator")
        page.click(f"{row} button[data-action=requeue]")
        page.wait_for_selector(row, state="detached", timeout=WAIT_MS)
        page.wait_for_selector(".toast.ok", timeout=WAIT_MS)
        operator.shot("08-dead-letter-requeued")
        job = api.call("reader", "GET", f"/queue/jobs/{job_id}")
        assert (job["stage"], job["status"]) == ("scraper", "queued")
        history = api.call("reader", "GET", f"/queue/jobs/{job_id}/history")
        assert history[-1]["event"] == "requeued"
        assert operator.errors == [] and operator.outside == []
    finally:
        operator.close()


def test_an_app_page_draws_its_charts_from_the_stored_summary(watched, api):
    api.completed_with_summary("com.ui.charts", SUMMARY)
    watched.open("reader", "#/apps/com.ui.charts")
    page = watched.page
    page.wait_for_selector('svg[data-chart="sentiment"]', timeout=WAIT_MS)

    def drawn(selector: str) -> dict[str, float]:
        marks = page.query_selector_all(selector)
        return {m.get_attribute("data-label"): float(m.get_attribute("data-value")) for m in marks}

    assert drawn('svg[data-chart="sentiment"] circle.arc') == {
        k: float(v) for k, v in SUMMARY["sentiment"].items()
    }
    assert drawn('svg[data-chart="rating-distribution"] rect.bar') == {
        f"{star}★": float(n) for star, n in SUMMARY["rating_distribution"].items()
    }
    days = drawn('svg[data-chart="reviews-per-day"] circle.dot')
    assert days == {"2026-03-01": 40, "2026-03-02": 25, "2026-03-03": 0, "2026-03-04": 55}
    assert drawn('svg[data-chart="top-praises"] rect.bar') == {
        "offline maps": 31,
        "clean design": 17,
    }
    assert drawn('svg[data-chart="top-issues"] rect.bar') == {"crashes on start": 22}
    assert drawn('svg[data-chart="languages"] rect.bar') == {"en": 100, "de": 20}
    # The arcs' lengths follow the split: positive takes 70 of 120 of the circle.
    positive = page.query_selector('svg[data-chart="sentiment"] circle.arc[data-label="positive"]')
    shown, hidden = map(float, positive.get_attribute("stroke-dasharray").split())
    assert shown / (shown + hidden) == pytest.approx(70 / 120, rel=1e-3)
    assert page.inner_text("#runs tbody").count("completed") == 1
    watched.shot("09-app-charts")
    assert watched.errors == [] and watched.outside == []
