"""worker_options: the command-line flags every worker shares, each with an environment variable.

    @click.command()
    @worker_options
    def main(api_url, api_key, worker_id, concurrency, lease_seconds, grace_seconds, log_level):
        client = QueueClient(api_url, worker_id=worker_id, api_key=api_key)
        run_worker(Worker(client, "scraper", process, concurrency=concurrency, ...))

or, with the same flags, ``run_worker(worker_from_options("scraper", process, **options))``.
--log-level configures logging as soon as it is parsed.
"""

import logging
import os
import re
import socket
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click

from queue_client.client import QueueClient
from queue_client.worker import Processor, Worker

DEFAULT_API_URL = "http://127.0.0.1:8000"
LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def installed_version() -> str | None:
    """The installed review-queue's version, which workers send with their claims."""
    try:
        return version("review-queue")
    except PackageNotFoundError:
        return None


def _configure_logging(_ctx: click.Context, _param: click.Parameter, level: str) -> str:
    level = level.upper()
    logging.basicConfig(level=level, format=LOG_FORMAT)
    if level != "DEBUG":  # httpx logs every request at INFO: one per poll
        logging.getLogger("httpx").setLevel(logging.WARNING)
    return level


# printable ASCII, 1 to 200 (the service's limit on X-Worker-ID), no space at either end (HTTP
# strips it, and httpx refuses to send it)
HEADER_VALUE = re.compile(r"(?=.{1,200}$)[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")


def _header_value(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--worker-id and --api-key travel as HTTP headers: printable ASCII only (a header's bytes
    are not UTF-8), so a bad one stops the worker at start rather than on its first claim."""
    if value is not None and not HEADER_VALUE.fullmatch(value):
        raise click.BadParameter(
            "must be 1 to 200 printable ASCII characters (letters, digits, punctuation, "
            "inner spaces; no space at either end): it is sent as an HTTP header",
            param=param,
        )
    return value


WORKER_OPTIONS = [
    click.option(
        "--api-url",
        envvar="REVIEW_QUEUE_API_URL",
        show_envvar=True,
        default=DEFAULT_API_URL,
        show_default=True,
        help="Base URL of the review-queue service.",
    ),
    click.option(
        "--api-key",
        envvar="REVIEW_QUEUE_API_KEY",
        show_envvar=True,
        default=None,
        callback=_header_value,
        help="A worker key (sent as Authorization: Bearer); needed when the service requires "
        "keys. Its name is the worker's id.",
    ),
    click.option(
        "--worker-id",
        envvar="REVIEW_QUEUE_WORKER_ID",
        show_envvar=True,
        default=None,
        show_default="the API key's name; <hostname>-<pid> without a key",
        callback=_header_value,
        help="Who holds the leases of this process's jobs. With a worker key: its name, or "
        "<name>/<instance> to tell processes sharing a key apart.",
    ),
    click.option(
        "--concurrency",
        envvar="REVIEW_QUEUE_CONCURRENCY",
        show_envvar=True,
        default=1,
        type=click.IntRange(min=1),
        show_default=True,
        help="Jobs processed at once by this process.",
    ),
    click.option(
        "--lease-seconds",
        envvar="REVIEW_QUEUE_WORKER_LEASE_SECONDS",
        show_envvar=True,
        default=None,
        type=click.IntRange(1, 3600),
        help="Lease asked for on each claim  [default: the service's]",
    ),
    click.option(
        "--grace-seconds",
        envvar="REVIEW_QUEUE_GRACE_SECONDS",
        show_envvar=True,
        default=30.0,
        type=click.FloatRange(min=0),
        show_default=True,
        help="On SIGTERM/SIGINT, how long running jobs may take before they are handed back.",
    ),
    click.option(
        "--log-level",
        envvar="REVIEW_QUEUE_LOG_LEVEL",
        show_envvar=True,
        default="INFO",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        show_default=True,
        callback=_configure_logging,
        help="Logging threshold.",
    ),
]


def worker_options(command: Callable) -> Callable:
    """Add the shared worker flags to a click command (passed as keyword arguments)."""
    for option in reversed(WORKER_OPTIONS):
        command = option(command)
    return command


def worker_from_options(
    stage: str,
    processor: Processor,
    *,
    api_url: str,
    worker_id: str | None = None,
    api_key: str | None = None,
    concurrency: int = 1,
    lease_seconds: int | None = None,
    grace_seconds: float = 30.0,
    capabilities: Sequence[str] | None = None,
    **_others: Any,
) -> Worker:
    """A Worker (and its QueueClient) built from the values of worker_options. Its claims
    say the installed version, these capabilities and this host's name."""
    if not api_key and not worker_id:
        worker_id = default_worker_id()
    client = QueueClient(
        api_url,
        worker_id=worker_id,
        api_key=api_key,
        worker_version=installed_version(),
        capabilities=capabilities,
        host=socket.gethostname(),
    )
    return Worker(
        client,
        stage,
        processor,
        concurrency=concurrency,
        lease_seconds=lease_seconds,
        grace_seconds=grace_seconds,
    )
