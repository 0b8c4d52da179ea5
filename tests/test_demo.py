"""`review-queue demo` as a user runs it (here without a terminal, as in CI): it exits 0 and
prints every demo app's summary, with figures that match the shipped fixtures, and the
unknown app's error."""

import json
import re
import signal
import sys
import time

import httpx
import pytest

from demo import DEMO_APPS, UNKNOWN_APP
from tests.serving import ROOT, log_text, run_python, start_process, stop_process

pytestmark = pytest.mark.slow

# The demo takes about 20 s alone; a busy machine (a parallel test run) may slow it down.
DEMO_TIMEOUT = 120  # its own: past this it gives up and exits 1
PROCESS_TIMEOUT = 180  # ours: it must have exited by itself well before this


def fixture_reviews(app_id: str) -> list[dict]:
    document = json.loads((ROOT / "scraper_worker" / "data" / f"{app_id}.json").read_text())
    return [dict(zip(document["columns"], row, strict=True)) for row in document["reviews"]]


@pytest.fixture(scope="module")
def demo_output() -> str:
    result = run_python(
        "-m", "service", "demo", "--timeout", str(DEMO_TIMEOUT),
        env={"COLUMNS": "120"}, timeout=PROCESS_TIMEOUT,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return result.stdout


def summary_block(output: str, app_id: str) -> str:
    """The lines of `app_id`'s summary: from its title line to the next blank line."""
    section = output.split("Summaries (GET /apps/{app_id}/summary)", 1)[1]
    match = re.search(rf"^{re.escape(app_id)}\n(.*?)(?:\n\n|\Z)", section, re.M | re.S)
    assert match, f"no summary of {app_id} in:\n{section}"
    return match[1]


def figure(block: str, label: str) -> str:
    match = re.search(rf"^\s+{label}\s{{2,}}(.+)$", block, re.M)
    assert match, f"no {label!r} in:\n{block}"
    return match[1].strip()


@pytest.mark.parametrize("app_id", DEMO_APPS)
def test_each_demo_app_ends_with_its_summary(demo_output, app_id):
    reviews = fixture_reviews(app_id)
    block = summary_block(demo_output, app_id)

    assert figure(block, "reviews") == str(len(reviews))
    average = round(sum(review["score"] for review in reviews) / len(reviews), 2)
    assert figure(block, "average rating") == f"{average:.2f} / 5"
    sentiment = re.fullmatch(
        r"positive (\d+) \(\d+%\), neutral (\d+) \(\d+%\), negative (\d+) \(\d+%\)",
        figure(block, "sentiment"),
    )
    assert sentiment, block
    assert sum(map(int, sentiment.groups())) == len(reviews)
    languages = re.findall(r"([\w-]+) (\d+)", figure(block, "languages"))
    assert sum(int(n) for _, n in languages) == len(reviews)
    assert dict(languages).get("en"), block
    assert figure(block, "positive keywords") != "none"  # the top praises
    assert figure(block, "negative keywords") != "none"  # the top issues


def test_the_demo_shows_an_app_store_app_beside_the_google_play_ones(demo_output):
    app_store = [app_id for app_id in DEMO_APPS if app_id.isdigit()]
    google_play = [app_id for app_id in DEMO_APPS if "." in app_id]
    assert app_store == ["6449012733"]
    assert len(google_play) == 5
    block = summary_block(demo_output, "6449012733")
    assert "maps fail" in figure(block, "negative keywords")


def test_progress_is_readable_without_a_terminal(demo_output):
    # one plain line per change of stage or status, no terminal control codes
    assert "\x1b[" not in demo_output
    for app_id in DEMO_APPS:
        assert re.search(rf"^\s+[\d.]+s  {re.escape(app_id)} +done/completed$", demo_output, re.M)
    assert re.search(
        rf"^\s+[\d.]+s  {re.escape(UNKNOWN_APP)} +scraper/error  app not found", demo_output, re.M
    )


def test_the_unknown_app_is_a_dead_letter_with_its_reason(demo_output):
    assert f"{UNKNOWN_APP}  scraper/error (a dead letter)" in demo_output
    assert re.search(rf"^\s+error\s+app not found: {re.escape(UNKNOWN_APP)}", demo_output, re.M)


def test_the_overview_counts_the_day(demo_output):
    assert "active 0, done today 6, errors today 1" in demo_output
    assert "finished today: done/completed 6, scraper/error 1" in demo_output
    assert "active by stage/status: none" in demo_output
    assert re.search(r"^Demo finished in [\d.]+s", demo_output, re.M)


def test_unknown_demo_apps_are_refused_before_anything_starts():
    result = run_python("-m", "service", "demo", "--apps", "com.spotify.music,com.nope", timeout=60)
    assert result.returncode == 2
    assert "not a fixture app: com.nope" in result.stderr


def test_keep_leaves_the_service_up_with_a_dashboard_and_a_reader_key_until_ctrl_c():
    keep = ["--keep", "--rerun-every", "2", "--fixture-delay", "0.05"]
    proc = start_process([sys.executable, "-m", "service", "demo", *keep], {"COLUMNS": "200"})
    try:
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while "Press Ctrl-C to stop." not in log_text(proc):
            assert proc.poll() is None, log_text(proc)
            assert time.monotonic() < deadline, log_text(proc)
            time.sleep(0.2)
        output = log_text(proc)
        # Said once the service is up (to watch the demo) and again once it is over.
        assert output.count("Dashboard: http://127.0.0.1:") == 2
        url = re.search(r"Dashboard: (http://127\.0\.0\.1:\d+)/dashboard", output)[1]
        reader = re.search(r"reader key: +(\S+)", output)[1]
        operator = re.search(r"operator key: +(\S+)", output)[1]
        assert re.search(r"^Demo finished in [\d.]+s: 6 apps completed", output, re.M)
        with httpx.Client(base_url=url, timeout=10) as http:
            assert "review-queue-auth" in http.get("/dashboard").text
            assert http.get("/auth/me").status_code == 401  # keys are required
            me = http.get("/auth/me", headers={"Authorization": f"Bearer {reader}"}).json()
            assert me["role"] == "reader"
            role = http.get("/auth/me", headers={"X-API-Key": operator}).json()["role"]
            assert role == "operator"
            # The demo apps go round again by themselves: new runs keep coming.
            first = http.get("/reports/daily/today", headers={"X-API-Key": reader}).json()
            time.sleep(5)
            later = http.get("/reports/daily/today", headers={"X-API-Key": reader}).json()
            assert later["jobs"]["added"] > first["jobs"]["added"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert "Stopped (interrupted by SIGINT)" in log_text(proc)
    finally:
        stop_process(proc)
