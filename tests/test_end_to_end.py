"""The pipeline as deployed, in real processes on loopback: `python -m service serve`, a
`python -m scraper_worker` and a `python -m nlp_worker`. With `--source fixtures`, the six
fixture apps go in; each comes out done, with a summary that agrees with its stored reviews
and with the shipped fixtures; SIGTERM stops both workers cleanly. With `--source auto`, an
App Store id is scraped from Apple's feed as a local server replays it from the responses
shipped in tests/fixtures/app_store/, and an unknown App Store id becomes a dead letter."""

import json
import re
import sys
import time
from collections import Counter

import httpx
import pytest

from demo import DEMO_APPS
from tests.app_store_feed import serving_app_store
from tests.serving import ROOT, log_tail, running_service, start_process, stop_process

pytestmark = pytest.mark.slow

DONE_TIMEOUT = 120.0
ADMIN_KEY = "e2e-admin-" + "k" * 32
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def fixture_count(app_id: str) -> int:
    document = json.loads((ROOT / "scraper_worker" / "data" / f"{app_id}.json").read_text())
    return len(document["reviews"])


def stored_reviews(http: httpx.Client, app_id: str) -> tuple[list[dict], int]:
    """Every stored review of the app, page by page, and the `total` the pages report."""
    reviews: list[dict] = []
    totals = set()
    params: dict = {"limit": 500}
    while True:
        page = http.get(f"/apps/{app_id}/reviews", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        reviews += body["reviews"]
        totals.add(body["total"])
        if not body["next_cursor"]:
            break
        params["cursor"] = body["next_cursor"]
    assert len(totals) == 1, totals
    return reviews, totals.pop()


def wait_until_done(http: httpx.Client, workers: list, apps: tuple[str, ...]) -> dict[str, dict]:
    deadline = time.monotonic() + DONE_TIMEOUT
    jobs: dict[str, dict] = {}
    while time.monotonic() < deadline:
        for worker in workers:
            assert worker.poll() is None, f"a worker exited early:\n{log_tail(worker)}"
        jobs = {app_id: http.get(f"/queue/status/{app_id}").json() for app_id in apps}
        if all(job["status"] in ("completed", "error", "cancelled") for job in jobs.values()):
            return jobs
        time.sleep(0.5)
    logs = "\n".join(log_tail(worker) for worker in workers)
    pytest.fail(f"not done within {DONE_TIMEOUT}s: {jobs}\n{logs}")


def test_five_apps_through_real_worker_processes():
    with running_service() as url:
        scraper = start_process(
            [sys.executable, "-m", "scraper_worker", "--api-url", url, "--source", "fixtures"]
        )
        nlp = start_process([sys.executable, "-m", "nlp_worker", "--api-url", url])
        workers = [scraper, nlp]
        try:
            with httpx.Client(base_url=url, timeout=30) as http:
                for app_id in DEMO_APPS:
                    added = http.post("/queue/add", json={"app_id": app_id})
                    assert added.status_code == 201, added.text
                jobs = wait_until_done(http, workers, DEMO_APPS)
                for app_id, job in jobs.items():
                    assert (job["stage"], job["status"]) == ("done", "completed"), job
                    check_results(http, app_id)
        finally:
            codes = {"scraper": stop_process(scraper), "nlp": stop_process(nlp)}
            logs = {name: log_tail(proc) for name, proc in zip(codes, workers, strict=True)}
    assert codes == {"scraper": 0, "nlp": 0}, logs
    for name, log in logs.items():  # both shut down gracefully rather than being killed
        assert re.search(r"Worker \S+ stopped", log), f"{name}:\n{log}"


def create_key(url: str, name: str, role: str) -> str:
    answer = httpx.post(
        f"{url}/auth/keys", json={"name": name, "role": role}, headers=ADMIN, timeout=10
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["key"]


def test_an_app_store_app_from_add_to_summary_through_real_worker_processes():
    """As deployed with keys: the service requires them, each worker runs with its own."""
    app_id, unknown = "6449012733", "1999999999"
    keys_on = {"REVIEW_QUEUE_AUTH": "required", "REVIEW_QUEUE_ADMIN_KEY": ADMIN_KEY}
    with serving_app_store() as feed, running_service(keys_on) as url:
        scraper_key = {"REVIEW_QUEUE_API_KEY": create_key(url, "scraper-e2e", "worker")}
        nlp_key = {"REVIEW_QUEUE_API_KEY": create_key(url, "nlp-e2e", "worker")}
        scraper = start_process(
            [sys.executable, "-m", "scraper_worker", "--api-url", url, "--source", "auto",
             "--app-store-url", feed.base_url],
            scraper_key,
        )  # fmt: skip
        nlp = start_process([sys.executable, "-m", "nlp_worker", "--api-url", url], nlp_key)
        workers = [scraper, nlp]
        try:
            with httpx.Client(base_url=url, timeout=30, headers=ADMIN) as http:
                assert httpx.get(f"{url}/queue/overview").status_code == 401
                for app in (app_id, unknown):
                    added = http.post("/queue/add", json={"app_id": app})
                    assert added.status_code == 201, added.text
                jobs = wait_until_done(http, workers, (app_id, unknown))
                assert (jobs[app_id]["stage"], jobs[app_id]["status"]) == ("done", "completed")
                check_results(http, app_id)
                summary = http.get(f"/apps/{app_id}/summary").json()
                dead = http.get("/queue/dead-letter").json()["jobs"]
                history = http.get(f"/queue/jobs/{jobs[app_id]['job_id']}/history").json()
        finally:
            codes = {"scraper": stop_process(scraper), "nlp": stop_process(nlp)}
            logs = {name: log_tail(proc) for name, proc in zip(codes, workers, strict=True)}
    assert codes == {"scraper": 0, "nlp": 0}, logs
    claims = [row["worker_id"] for row in history if row["event"] == "claimed"]
    assert claims == ["scraper-e2e", "nlp-e2e"]  # each key's name is its worker id
    pages = [path for path in feed.requests if f"/id={app_id}/" in path]
    assert len(pages) == 7  # six pages of 50, 50, ..., 10 and the empty seventh
    assert all(path.startswith("/us/rss/customerreviews/page=") for path in pages)
    assert f"/lookup?id={unknown}&country=us" in feed.requests
    (failed,) = [job for job in dead if job["app_id"] == unknown]
    assert failed["stage"] == "scraper"
    assert "app not found" in failed["error_message"]

    assert summary["top_issues"][0]["theme"] == "maps fail"  # the 5.0 release's bug
    assert summary["top_issues"][0]["per_version"].get("5.0.0")
    assert summary["top_praises"]
    assert [v["version"] for v in summary["versions"]] == ["4.8.1", "4.9.0", "5.0.0", "5.0.2"]
    assert sum(summary["rating_distribution"].values()) == summary["review_count"]


def check_results(http: httpx.Client, app_id: str) -> None:
    answer = http.get(f"/apps/{app_id}/summary")
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    reviews, total = stored_reviews(http, app_id)
    count = summary["review_count"]

    assert count == total == len(reviews) == fixture_count(app_id)
    assert len({review["review_id"] for review in reviews}) == count
    assert sum(summary["sentiment"].values()) == count
    assert sum(summary["languages"].values()) == count
    assert sum(summary["per_day"].values()) == count
    assert summary["average_rating"] == round(sum(r["score"] for r in reviews) / count, 2)

    missing = [review["review_id"] for review in reviews if not review.get("analysis")]
    assert not missing, f"{app_id}: {len(missing)} reviews without analysis"
    labels = Counter(review["analysis"]["sentiment"]["label"] for review in reviews)
    assert dict(summary["sentiment"]) == {
        label: labels[label] for label in ("positive", "neutral", "negative")
    }
    languages = Counter(review["analysis"]["language"] or "unknown" for review in reviews)
    assert summary["languages"] == dict(languages)
    days = Counter(review["at"][:10] for review in reviews)
    assert summary["per_day"] == dict(days)
