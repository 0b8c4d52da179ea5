"""Real concurrency: `review-queue serve` on loopback and several OS processes racing it.

Run twice: against the plain embedded store, and with every store call yielding to the event
loop (the embedded store never yields inside a call, so without that the server would
serialize the races and the test could not fail).
"""

import json
import subprocess
import sys
from collections import Counter

import httpx
import pytest

from tests.serving import ROOT, running_service

PROCESSES = 4
CLAIMERS_PER_PROCESS = 8
JOBS = 200

pytestmark = pytest.mark.slow


@pytest.fixture(params=["plain", "yielding"])
def service_url(request):
    env = {"REVIEW_QUEUE_YIELD_STORE_CALLS": "1"} if request.param == "yielding" else {}
    with running_service(env=env) as url:
        yield url


def race(url: str, *args: str, processes: int) -> list:
    """Start `processes` race clients at once; return what each printed."""
    script = str(ROOT / "tests" / "race_client.py")
    procs = [
        subprocess.Popen(
            [sys.executable, script, url, *args], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        for _ in range(processes)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_every_job_is_claimed_exactly_once_by_racing_processes(service_url):
    with httpx.Client(base_url=service_url, timeout=30) as client:
        for n in range(JOBS):
            assert client.post("/queue/add", json={"app_id": f"app.{n}"}).status_code == 201
        per_process = race(service_url, "claim", str(CLAIMERS_PER_PROCESS), processes=PROCESSES)
        claimed = Counter(job_id for ids in per_process for job_id in ids)
        assert len(claimed) == JOBS
        assert set(claimed.values()) == {1}, [j for j, n in claimed.items() if n > 1][:5]
        assert sum(1 for ids in per_process if ids) > 1, "one process took everything"
        overview = client.get("/queue/overview").json()
        assert overview["counts"] == {"scraper": {"processing": JOBS}}


def test_fifty_adds_of_one_app_from_several_processes_create_one_job(service_url):
    per_process = race(service_url, "add", "10", "com.spotify.music", processes=5)
    answers = [answer for answers in per_process for answer in answers]
    assert len(answers) == 50
    assert [code for code, _ in answers].count(201) == 1
    assert {code for code, _ in answers} <= {200, 201}
    assert len({job_id for _, job_id in answers}) == 1
    with httpx.Client(base_url=service_url) as client:
        assert client.get("/queue/overview").json()["active_total"] == 1
