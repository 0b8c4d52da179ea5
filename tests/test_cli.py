"""`review-queue serve` as a newcomer meets it: a bad MONGODB_URI is one line and a non-zero
exit within the server selection timeout; --help names each option's environment variable."""

import re
import time

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.serving import ROOT, run_python


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
    done = run_python("-m", "service", "serve", "--port", "0", env={"MONGODB_URI": uri}, timeout=30)
    took = time.monotonic() - began
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith(start) and "MONGODB_URI" in lines[0]
    assert done.stdout == "" and took < 9, took


def readme_settings() -> list[tuple[str, str]]:
    """(variable, flag) of each row of the README's Settings table."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("\n## Settings\n") : text.index("\n## Storage\n")]
    found = []
    for row in table.splitlines():
        if row.startswith("| `"):
            variables, flags = row.split(" | ")[:2]
            names = re.findall(r"`([A-Z_]+)`", variables)
            found += zip(names, re.findall(r"`(--[a-z-]+)`", flags), strict=True)
    return found


def test_help_names_the_environment_variable_of_every_setting():
    shown = " ".join(CliRunner().invoke(main, ["serve", "--help"]).output.split())
    documented = readme_settings()
    # Every setting the README lists, with its flag; and nothing the README leaves out.
    for variable, flag in documented:
        assert f"env var: {variable}" in shown, variable
        assert f"{flag} " in shown, flag
    assert sorted(re.findall(r"env var: ([A-Z_]+)", shown)) == sorted(v for v, _ in documented)
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
        assert variable in dict(documented), variable
