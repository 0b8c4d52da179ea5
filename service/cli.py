"""The `review-queue` command. Every setting is a flag with a matching environment variable."""

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from service.cli_keys import keys
from service.cli_options import hint, mongodb_db_option, mongodb_uri_option, setting
from service.domain import MAX_LEASE_SECONDS, MAX_RETRIES_LIMIT
from service.keys import MIN_ADMIN_KEY_LENGTH
from service.rate_limit import parse_rate
from service.settings import Settings, valid_report_time

SETTING_OPTIONS = [
    mongodb_uri_option("MongoDB connection string; unset runs on the embedded in-memory store."),
    mongodb_db_option,
    setting(
        "--lease-seconds",
        default=600,
        type=click.IntRange(1, MAX_LEASE_SECONDS),
        help="Default lease length of a claim.",
    ),
    setting(
        "--reap-interval",
        default=10.0,
        type=click.FloatRange(0.1, 3600),
        help="Seconds between sweeps that return expired leases to the queue.",
    ),
    setting(
        "--max-retries",
        default=3,
        type=click.IntRange(0, MAX_RETRIES_LIMIT),
        help="Retries of a failed stage before it becomes a dead letter (per job: max_retries).",
    ),
    setting(
        "--retry-base-seconds",
        default=2.0,
        type=click.FloatRange(0, 3600),
        help="First retry delay; it doubles per attempt (+-10% jitter).",
    ),
    setting(
        "--retry-max-seconds",
        default=300.0,
        type=click.FloatRange(0, 86400),
        help="Cap of the retry delay.",
    ),
    setting(
        "--db-timeout",
        default=10.0,
        type=click.FloatRange(0.1, 600),
        help="Seconds a MongoDB operation may take (a transaction with its retries included) "
        "before the request fails.",
    ),
    setting(
        "--retention-days",
        default=30,
        type=click.IntRange(0, 36500),
        help="Days finished jobs and their history are kept (TTL indexes); 0 keeps them for "
        "ever. Active jobs, reviews and summaries are never deleted.",
    ),
    setting(
        "--timezone",
        default="UTC",
        help="Time zone whose day 'today' means in the overview and the daily reports.",
    ),
    setting(
        "--report-time",
        default="00:05",
        help="When the daily report of the day that just ended is stored (HH:MM, in the "
        "--timezone's day).",
    ),
    setting(
        "--events-keepalive",
        default=15.0,
        type=click.FloatRange(0.1, 3600),
        help="Seconds between keep-alive comments on an open event stream (GET /queue/events).",
    ),
    setting(
        "--schedule-interval",
        default=10.0,
        type=click.FloatRange(0.1, 3600),
        help="Seconds between sweeps that fire the recurring schedules that came due.",
    ),
    setting(
        "--health-max-wait-seconds",
        default=900.0,
        type=click.FloatRange(0),
        help="GET /health is degraded when a stage's oldest claimable job has waited longer.",
    ),
    setting(
        "--health-max-backlog",
        default=1000,
        type=click.IntRange(0),
        help="GET /health is degraded when a stage has more claimable jobs.",
    ),
    setting(
        "--health-max-failure-share",
        default=0.5,
        type=click.FloatRange(0, 1),
        help="GET /health is degraded when a larger share of a stage's runs that ended in the "
        "last hour failed (retried, failed for good, or lease expired).",
    ),
    setting(
        "--health-min-runs",
        default=10,
        type=click.IntRange(1),
        help="Runs of a stage that must have ended in the last hour before its failure share "
        "counts.",
    ),
    setting(
        "--auth",
        type=click.Choice(["required", "off"]),
        default=None,
        help="Whether every route but GET /health needs an API key  "
        "[default: required with MONGODB_URI, off on the embedded store]",
    ),
    setting(
        "--admin-key",
        default=None,
        help=f"An admin key (at least {MIN_ADMIN_KEY_LENGTH} characters), to create the "
        "other keys with.",
    ),
    setting(
        "--admin-key-file",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="A file holding the admin key (a Docker secret, say).",
    ),
    setting(
        "--rate-limit",
        default="3000/minute",
        help="Requests per API key (per client address without one): N/second, N/minute, "
        "N/hour or N/day; 'off' for none. Counted by each service process.",
    ),
    setting(
        "--yield-store-calls",
        is_flag=True,
        hidden=True,
        help="Testing aid: yield to the event loop around store calls.",
    ),
]


def setting_options(command: Callable) -> Callable:
    for option in reversed(SETTING_OPTIONS):
        command = option(command)
    return command


def settings_from(options: dict[str, Any]) -> Settings:
    try:
        ZoneInfo(options["timezone"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(
            f"unknown time zone {options['timezone']!r}",
            param_hint=hint("--timezone"),
        ) from exc
    if not valid_report_time(options.get("report_time", "00:05")):
        raise click.BadParameter(
            f"not a time of day: {options['report_time']!r} (HH:MM, 00:00 to 23:59)",
            param_hint=hint("--report-time"),
        )
    values = {name: options[name] for name in Settings.__dataclass_fields__ if name in options}
    if values.get("retention_days") == 0:
        values["retention_days"] = None
    values["admin_key"] = _admin_key(options.get("admin_key"), options.get("admin_key_file"))
    try:
        parse_rate(options.get("rate_limit"))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=hint("--rate-limit")) from None
    return Settings(**values)


def _admin_key(given: str | None, path: str | None) -> str | None:
    hint = "--admin-key / REVIEW_QUEUE_ADMIN_KEY(_FILE)"
    if given and path:
        raise click.BadParameter(
            "give the admin key or a file holding it, not both", param_hint=hint
        )
    key = (Path(path).read_text().strip() if path else given) or None  # empty: none
    if key is not None and len(key) < MIN_ADMIN_KEY_LENGTH:
        raise click.BadParameter(
            f"an admin key needs at least {MIN_ADMIN_KEY_LENGTH} characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(32))' makes one)",
            param_hint=hint,
        )
    return key or None


@click.group()
@click.version_option(package_name="review-queue")
def main() -> None:
    """review-queue: a MongoDB-backed job queue for app-review scraping and NLP."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


main.add_command(keys)


@main.command()
@setting("--host", default="127.0.0.1")
@setting(
    "--port",
    default=8000,
    type=click.IntRange(0, 65535),
)
@setting_options
def serve(host: str, port: int, **options: Any) -> None:
    """Run the API under uvicorn."""
    import uvicorn

    from service.app import create_app
    from service.db import StoreUnavailable, check_store
    from service.server import Server

    settings = settings_from(options)
    try:
        asyncio.run(check_store(settings))
    except StoreUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", timeout_graceful_shutdown=10
    )
    Server(config).run()


@main.command()
@click.option(
    "--port",
    default=0,
    type=click.IntRange(0, 65535),
    show_default=True,
    help="Loopback port of the service while the demo runs; 0 picks a free one.",
)
@click.option(
    "--apps",
    multiple=True,
    metavar="APP_ID[,APP_ID...]",
    help="Fixture apps to process (repeatable)  [default: all five]",
)
@click.option(
    "--unknown-app",
    default="com.example.unknown",
    show_default=True,
    help="An app the fixtures do not know, to show a dead letter; '' for none.",
)
@click.option(
    "--timeout",
    default=90.0,
    type=click.FloatRange(1, 3600),
    show_default=True,
    help="Seconds before the demo gives up on apps that did not finish (exit code 1).",
)
@click.option(
    "--fixture-delay",
    default=None,
    type=click.FloatRange(0, 10),
    help="Seconds the scraper waits before each page of reviews after the first  "
    "[default: 0.05; 0.4 with --keep, to watch]",
)
@click.option(
    "--keep",
    is_flag=True,
    help="After the demo, keep the service and the workers running: print the dashboard's "
    "address and keys, queue the demo apps again now and then, stop on Ctrl-C.",
)
@click.option(
    "--rerun-every",
    default=60.0,
    type=click.FloatRange(0, 86400),
    show_default=True,
    help="With --keep: seconds for a round of the demo apps queued again, one at a time "
    "(0: never).",
)
@click.option(
    "--log-level",
    default="WARNING",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    show_default=True,
    help="Logging threshold of the service and the workers.",
)
def demo(**options: Any) -> None:
    """Run the service (embedded store), a scraper worker on the shipped fixtures and an NLP
    worker in this process, add the demo apps and show their progress and summaries."""
    from demo import DemoOptions, run_demo

    if options["fixture_delay"] is None:
        options["fixture_delay"] = 0.4 if options["keep"] else 0.05
    try:
        demo_options = DemoOptions.build(**options)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--apps / --unknown-app") from exc
    raise SystemExit(run_demo(demo_options))
