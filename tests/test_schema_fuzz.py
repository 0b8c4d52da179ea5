"""schemathesis over the whole API, in process: every operation with generated valid and
invalid input, then chains of calls along the links the document declares (the whole file run
with `-s` prints how many requests each sent). No answer may be a 5xx, and every answer must be one
the OpenAPI document describes (status, content type, headers, body schema, Allow); invalid
input must be refused and valid input accepted.

A few rules the document can only state in words, so generated "valid" input can break them
and get a 422 naming the field: an opaque page cursor, a value that may come in the body or as a
header, the nested limits of `params`, a review time that leaves the calendar once in UTC, a
`run_at` more than 365 days ahead, a cron expression or time zone that CronTrigger refuses, a
report's date that is not a day of the calendar or not yet over.
Such a 422 is not held against the schema; any other refusal of valid input is.
"""

import asyncio
import re
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.app import create_app
from service.settings import Settings
from tests.helpers import JSON

ADMIN_KEY = "fuzz-admin-" + "k" * 32
# No sweep runs while a scenario is reset; keys as in production, no rate limit (thousands of
# requests in seconds, which tests/test_access.py limits on purpose).
APP = create_app(
    Settings(reap_interval=3600, auth="required", admin_key=ADMIN_KEY, rate_limit=None)
)
# The chains follow the links the document declares (add -> claim -> upload ...), not links
# schemathesis guesses from names: those start from random ids and end in 404s.
CONFIG = SchemathesisConfig.from_dict({"phases": {"stateful": {"inference": {"algorithms": []}}}})
# GET /queue/events answers a stream that stays open: a fuzzed request would wait on it for
# ever. It is left out here and tested directly (tests/test_events.py: its answers, its 422,
# its 401); its document still declares it (text/event-stream) and the check below reads that.
STREAMS = "/queue/events"
SCHEMA = schemathesis.openapi.from_asgi("/schema/openapi.json", APP, config=CONFIG).exclude(
    path=STREAMS
)
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
DESCRIBED_IN_WORDS = re.compile(
    r"(cursor|worker_id|lease_token|run_at|cron|timezone|params([.\[].*)?|reviews\[\d+\]\.at|date|before)",
    re.DOTALL,  # a params key may hold a newline
)
ANSWERS: Counter = Counter()  # (method, path, status) of the chained calls
SENT: Counter = Counter()  # requests of test_every_operation
# Derandomized: every run sends the same requests, so a CI run cannot fail on a draw that the
# run before did not make (run with derandomize=False locally to explore further).
SETTINGS = {
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
    "database": None,
    "derandomize": True,
}


def headers_for(case) -> dict:
    """The admin key; and every POST and PUT says it is JSON, also the ones without a body
    (cancel, requeue)."""
    if case.method in ("POST", "PUT") and case.body is NOT_SET:
        return {**AUTH, **JSON}
    return AUTH


def refused_for_a_rule_in_words(response) -> bool:
    if response.status_code != 422:
        return False
    details = response.json().get("details")
    fields = [d.get("field", "") for d in details] if isinstance(details, list) else []
    return bool(fields) and all(DESCRIBED_IN_WORDS.fullmatch(f) for f in fields)


def excluded_checks(response) -> list:
    return [positive_data_acceptance] if refused_for_a_rule_in_words(response) else []


def call_and_check(case, **kwargs):
    response = case.call(**kwargs)
    SENT["requests"] += 1
    case.validate_response(response, excluded_checks=excluded_checks(response))
    return response


@SCHEMA.parametrize()
@settings(max_examples=100, **SETTINGS)
def test_every_operation(case):
    call_and_check(case, headers=headers_for(case))


async def _empty_store() -> None:
    for collection in (
        APP.state.store.jobs,
        APP.state.store.history,
        APP.state.results.reviews,
        APP.state.results.summaries,
        APP.state.key_store.keys,
        APP.state.schedules.schedules,
        APP.state.workers.workers,
    ):
        await collection.delete_many({})


class Links(SCHEMA.as_state_machine()):
    def setup(self):
        """Each scenario starts on an empty store, so a replayed scenario meets what it met the
        first time (an add answers 201 again, a claim finds the same job)."""
        asyncio.run(_empty_store())  # the embedded store does no I/O: any loop can drive it

    def call(self, case, **kwargs):
        if extra := headers_for(case):
            kwargs["headers"] = {**(kwargs.get("headers") or {}), **extra}
        response = case.call(**kwargs)
        ANSWERS[(case.method, case.path, response.status_code)] += 1
        return response

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        case.validate_response(
            response,
            additional_checks=additional_checks,
            excluded_checks=excluded_checks(response),
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


def test_the_event_stream_is_documented_as_one():
    operation = APP.openapi_schema.paths[STREAMS].get
    assert set(operation.responses["200"].content) == {"text/event-stream"}
    assert {p.name for p in operation.parameters} >= {"app_id", "job_id", "stage", "Last-Event-ID"}


def test_chains_of_calls_along_the_links():
    chains = settings(max_examples=80, stateful_step_count=8, **SETTINGS)
    Links.run(settings=chains)
    print(
        f"\nschemathesis: {SENT['requests']:,} requests over every operation, "
        f"{sum(ANSWERS.values()):,} along the links"
    )
    # The links carry ids and lease tokens from one answer to the next call.
    for reached in (
        ("GET", "/queue/jobs/{job_id}", 200),
        ("POST", "/queue/{job_id}/update", 200),
        ("POST", "/queue/{job_id}/cancel", 200),
    ):
        assert ANSWERS[reached], (reached, ANSWERS)
