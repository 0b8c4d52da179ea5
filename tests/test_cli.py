"""`review-queue serve` as a newcomer meets it: a bad MONGODB_URI is one line and a non-zero
exit within the server selection timeout; --help names each option's environment variable."""

import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.serving import process_env


@pytest.mark.slow
@pytest.mark.parametrize(
    ("uri", "start"),
    [
        ("mongodb://127.0.0.1:1", "Error: Cannot reach MongoDB at 127.0.0.1:1 within 5 s"),
        ("127.0.0.1:27017", "Error: MONGODB_URI is not a usable MongoDB connection string"),
    ],
)
def test_serve_with_a_bad_mongodb_uri_exits_with_one_line(uri, start):
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--port", "0"],
        env=process_env({"MONGODB_URI": uri}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    took = time.monotonic() - began
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith(start) and "MONGODB_URI" in lines[0]
    assert done.stdout == "" and took < 9, took


def test_help_names_the_environment_variable_of_every_setting():
    shown = " ".join(CliRunner().invoke(main, ["serve", "--help"]).output.split())
    for variable in (
        "MONGODB_URI",
        "MONGODB_DB",
        "REVIEW_QUEUE_HOST",
        "REVIEW_QUEUE_PORT",
        "REVIEW_QUEUE_LEASE_SECONDS",
        "REVIEW_QUEUE_DB_TIMEOUT",
        "REVIEW_QUEUE_RETENTION_DAYS",
        "REVIEW_QUEUE_TIMEZONE",
        "REVIEW_QUEUE_SCHEDULE_INTERVAL",
        "REVIEW_QUEUE_HEALTH_MAX_WAIT_SECONDS",
        "REVIEW_QUEUE_HEALTH_MAX_BACKLOG",
        "REVIEW_QUEUE_HEALTH_MAX_FAILURE_SHARE",
        "REVIEW_QUEUE_HEALTH_MIN_RUNS",
        "REVIEW_QUEUE_REPORT_TIME",
        "REVIEW_QUEUE_EVENTS_KEEPALIVE",
    ):
        assert f"env var: {variable}" in shown, variable
