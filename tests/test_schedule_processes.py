"""Two `review-queue serve` processes sharing one real MongoDB: each due time of a recurring
schedule fires exactly once between them (their sweeps race every 0.2 s). Needs a real server
(TEST_MONGODB_URI): two processes cannot share the embedded store."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import REAL_MONGODB_URI
from tests.serving import running_service

SCHEDULES = 20
YEARLY = "0 0 1 1 *"  # never due by itself while the test runs: the test makes it due


def wait_for(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.slow
def test_two_service_processes_fire_each_due_time_once():
    if not REAL_MONGODB_URI:
        pytest.skip("TEST_MONGODB_URI is not set: two processes need a shared real MongoDB")
    from pymongo import MongoClient

    name = f"review_queue_test_{uuid.uuid4().hex[:12]}"
    env = {
        "MONGODB_URI": REAL_MONGODB_URI,
        "MONGODB_DB": name,
        "REVIEW_QUEUE_AUTH": "off",
        "REVIEW_QUEUE_RATE_LIMIT": "off",
        "REVIEW_QUEUE_SCHEDULE_INTERVAL": "0.2",
    }
    mongo = MongoClient(REAL_MONGODB_URI, tz_aware=True)
    database = mongo[name]
    try:
        with running_service(env) as one, running_service(env) as other:
            for n in range(SCHEDULES):
                made = httpx.post(
                    f"{one}/schedules", json={"app_id": f"com.app{n}", "cron": YEARLY}
                )
                assert made.status_code == 201, made.text

            def listed() -> list[dict]:
                page = httpx.get(f"{other}/schedules", params={"limit": 100}).json()
                return page["schedules"]

            for round_ in (1, 2):
                due = datetime.now(UTC) - timedelta(seconds=1)
                database.schedules.update_many({}, {"$set": {"next_run_at": due}})
                wait_for(lambda r=round_: all(s["runs"] >= r for s in listed()))
                time.sleep(1.0)  # a few more sweeps of both processes
                schedules = listed()
                assert {s["runs"] for s in schedules} == {round_}
                want = "queued" if round_ == 1 else "queued_already"
                assert {s["last_result"] for s in schedules} == {want}
            # One job per app, created once.
            by_app = [{"$group": {"_id": "$app_id", "n": {"$sum": 1}}}]
            per_app = list(database.jobs.aggregate(by_app))
            assert len(per_app) == SCHEDULES and {row["n"] for row in per_app} == {1}
            assert database.job_history.count_documents({"event": "created"}) == SCHEDULES
    finally:
        mongo.drop_database(name)
        mongo.close()
