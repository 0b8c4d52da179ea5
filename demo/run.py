"""`review-queue demo`: the whole pipeline in one process, on loopback, in well under a minute.

It starts the service on the embedded store (uvicorn as an asyncio task), a scraper worker on
the fixtures source and an NLP worker (tasks too: the real queue_client Worker, talking HTTP to
the service), adds the demo apps and one app the fixtures do not know, shows their progress
(demo/view.py) and ends with the overview and each app's summary. It exits 0 when every demo
app completed and the unknown one became a dead letter, 1 otherwise (or on a timeout), and
128 + N after signal N.
"""

import asyncio
import logging
import secrets
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field

import httpx
from rich.console import Console
from rich.logging import RichHandler

from demo.view import DemoView, Outcome
from queue_client.client import QueueClient
from queue_client.errors import ServiceError, ServiceUnavailableError
from queue_client.options import installed_version
from queue_client.worker import Worker
from scraper_worker.sources import fixture_app_ids
from service.app import create_app
from service.domain import FINAL_STATUSES
from service.server import serving_in_loop
from service.settings import Settings

DEMO_APPS = tuple(fixture_app_ids())  # the apps whose reviews the package ships
UNKNOWN_APP = "com.example.unknown"
HOST = "127.0.0.1"
START_TIMEOUT = 20.0  # seconds for the service to answer /health
WORKER_GRACE = 5.0  # seconds a worker's running job may take once the demo stops it
SHUTDOWN_TIMEOUT = 20.0  # the most the whole shutdown may take
CLIENT_RETRY_FOR = 5.0  # the demo's own calls give up on an unreachable service after this

log = logging.getLogger(__name__)


class DemoError(Exception):
    """The demo could not run (a port in use, a service that does not start)."""


@dataclass(frozen=True)
class DemoOptions:
    port: int = 0
    apps: tuple[str, ...] = DEMO_APPS
    unknown_app: str | None = UNKNOWN_APP
    timeout: float = 90.0
    fixture_delay: float = 0.05
    poll_interval: float = 0.25
    log_level: str = "WARNING"
    keep: bool = False
    # With `keep`: seconds for a round of the demo apps queued again, one at a time (0: never).
    rerun_every: float = 60.0

    @classmethod
    def build(
        cls, *, apps: Iterable[str] = (), unknown_app: str | None = UNKNOWN_APP, **others
    ) -> "DemoOptions":
        """From command-line values: `apps` may repeat and hold comma-separated lists; they
        must be fixture apps (ValueError otherwise). An empty `unknown_app` means none."""
        chosen = tuple(dict.fromkeys(a.strip() for v in apps for a in v.split(",") if a.strip()))
        known = fixture_app_ids()
        strangers = [app for app in chosen if app not in known]
        if strangers:
            raise ValueError(
                f"not a fixture app: {', '.join(strangers)} (the fixtures know {', '.join(known)})"
            )
        unknown_app = (unknown_app or "").strip() or None
        if unknown_app in known:
            raise ValueError(f"{unknown_app} is a fixture app: it would not fail")
        return cls(apps=chosen or DEMO_APPS, unknown_app=unknown_app, **others)

    @property
    def all_apps(self) -> tuple[str, ...]:
        return self.apps + ((self.unknown_app,) if self.unknown_app else ())


@dataclass
class _Stop:
    """Why the demo stopped watching before every app was done: a signal or a dead worker."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    signal: int | None = None
    reason: str | None = None

    def set(self, reason: str, signum: int | None = None) -> None:
        if not self.event.is_set():
            self.reason, self.signal = reason, signum
            self.event.set()


def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo; returns the process exit code."""
    console = console or Console(highlight=False)
    _configure_logging(console, options.log_level)
    view = DemoView(console, options.apps, options.unknown_app)
    try:
        return asyncio.run(_demo(options, view))
    except DemoError as exc:
        view.fatal(str(exc))
        return 1


async def _demo(options: DemoOptions, view: DemoView) -> int:
    started = time.monotonic()
    stop = _Stop()
    loop = asyncio.get_running_loop()
    wired = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, _on_signal, stop, signum)
            wired.append(signum)
    try:
        async with AsyncExitStack() as stack:
            admin_key = secrets.token_urlsafe(32)
            url = await stack.enter_async_context(_serving(options.port, admin_key))
            view.started(url)
            keys = await _create_keys(url, admin_key, keep=options.keep)
            if options.keep:
                view.dashboard(url, keys)
            workers = await stack.enter_async_context(_running_workers(url, options, keys))
            client = QueueClient(url, api_key=keys["demo-app-team"], retry_for=CLIENT_RETRY_FOR)
            stack.push_async_callback(client.aclose)
            for app_id in options.all_apps:
                await client.add(app_id)
            for name, task in workers.items():
                task.add_done_callback(lambda _t, name=name: stop.set(f"the {name} stopped"))
            deadline = started + options.timeout
            with view.live():
                jobs = await _watch(client, options, view, stop, deadline)
            outcome = await _outcome(client, options, jobs, stop, started)
            kept = options.keep and not stop.event.is_set()
            if kept:
                outcome.elapsed, outcome.kept = time.monotonic() - started, True
                view.report(outcome)
                view.keeping(url, keys, options.rerun_every)
                await _keep_running(client, options, stop)
            view.shutting_down()
            shutdown_started = time.monotonic()
        outcome.shutdown_seconds = time.monotonic() - shutdown_started
        outcome.elapsed = time.monotonic() - started
    finally:
        for signum in wired:
            loop.remove_signal_handler(signum)
    if kept:
        # Ctrl-C is how a kept demo ends: its exit code is the demo's own outcome.
        view.stopped(stop.reason, outcome.shutdown_seconds)
        return 0 if outcome.ok else 1
    view.report(outcome)
    if stop.signal is not None:
        return 128 + stop.signal
    return 0 if outcome.ok else 1


async def _keep_running(client: QueueClient, options: DemoOptions, stop: _Stop) -> None:
    """Until `stop`: queue the demo apps again, one at a time, a round every `rerun_every`
    seconds, so that the dashboard always has something moving."""
    pause = options.rerun_every / max(1, len(options.apps)) if options.rerun_every else None
    turn = 0
    while not stop.event.is_set():
        with suppress(TimeoutError):
            async with asyncio.timeout(pause):
                await stop.event.wait()
        if stop.event.is_set():
            return
        app_id = options.apps[turn % len(options.apps)]
        turn += 1
        try:
            await client.add(app_id, force=True)
        except (ServiceError, ServiceUnavailableError) as exc:
            log.warning("Could not queue %s again: %s", app_id, exc)


def _on_signal(stop: _Stop, signum: int) -> None:
    stop.set(f"interrupted by {signal.Signals(signum).name}", signum)


# The service


@asynccontextmanager
async def _serving(port: int, admin_key: str) -> AsyncIterator[str]:
    """The service on the embedded store on HOST:port (0: a free port), API keys required as
    in production; yields its URL once GET /health answers 200, stops it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise DemoError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from exc
    url = f"http://{HOST}:{sock.getsockname()[1]}"
    # The embedded store whatever MONGODB_URI says; the demo handles SIGINT/SIGTERM itself.
    app = create_app(Settings(auth="required", admin_key=admin_key))
    async with serving_in_loop(app, sock, stop_timeout=SHUTDOWN_TIMEOUT) as (_, task):
        await _wait_healthy(url, task)
        yield url


async def _wait_healthy(url: str, server: asyncio.Task) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(base_url=url, timeout=1.0) as http:
        while time.monotonic() < deadline:
            if server.done():
                raise DemoError("the service stopped while starting (see the log above)")
            with suppress(httpx.TransportError):
                if (await http.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.05)
    raise DemoError(f"the service did not answer {url}/health within {START_TIMEOUT:.0f}s")


# Keys: the demo sets access up as a team would, with its admin key

DEMO_KEYS = {"demo-app-team": "client", "demo-scraper-1": "worker", "demo-nlp-1": "worker"}
# With --keep, keys for a person at the dashboard: one that reads, one that may also requeue.
DASHBOARD_KEYS = {"demo-reader": "reader", "demo-operator": "operator"}


async def _create_keys(url: str, admin_key: str, *, keep: bool = False) -> dict[str, str]:
    """A key per part of the demo (a worker key's name is its worker id): {name: key}."""
    created = {}
    headers = {"Authorization": f"Bearer {admin_key}"}
    wanted = {**DEMO_KEYS, **(DASHBOARD_KEYS if keep else {})}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as http:
        for name, role in wanted.items():
            answer = await http.post("/auth/keys", json={"name": name, "role": role})
            if answer.status_code != 201:
                raise DemoError(f"could not create the demo's {name} key: {answer.text}")
            created[name] = answer.json()["key"]
    return created


# The workers


@asynccontextmanager
async def _running_workers(
    url: str, options: DemoOptions, keys: dict[str, str]
) -> AsyncIterator[dict]:
    """A scraper worker on the fixtures source and an NLP worker, as tasks of this loop;
    yields {name: task}. On exit each is stopped (graceful, then handed back) and awaited."""
    from nlp_worker.analysis import get_analyzer
    from nlp_worker.cli import capabilities as nlp_capabilities
    from nlp_worker.processor import STAGE as NLP_STAGE
    from nlp_worker.processor import process_nlp_job
    from scraper_worker.cli import capabilities as scraper_capabilities
    from scraper_worker.processor import STAGE as SCRAPER_STAGE
    from scraper_worker.processor import make_processor
    from scraper_worker.sources import FixtureSource

    # Load the models in a thread meanwhile (thread-safe: the first NLP job waits for it).
    loading = asyncio.create_task(asyncio.to_thread(get_analyzer))
    common = {"grace_seconds": WORKER_GRACE, "idle_poll_max": 0.5}
    # what GET /workers shows of each, as the worker commands say it
    said = {"worker_version": installed_version(), "host": socket.gethostname()}
    workers = {
        "scraper worker": Worker(
            QueueClient(
                url,
                api_key=keys["demo-scraper-1"],
                capabilities=scraper_capabilities(FixtureSource.name),
                **said,
            ),
            SCRAPER_STAGE,
            make_processor(FixtureSource(delay=options.fixture_delay)),
            **common,
        ),
        "NLP worker": Worker(
            QueueClient(url, api_key=keys["demo-nlp-1"], capabilities=nlp_capabilities(), **said),
            NLP_STAGE,
            process_nlp_job,
            **common,
        ),
    }
    tasks = {name: asyncio.create_task(w.run(), name=name) for name, w in workers.items()}
    try:
        yield tasks
    finally:
        for worker in workers.values():
            worker.stop()
        await asyncio.wait(tasks.values(), timeout=SHUTDOWN_TIMEOUT)
        for task in tasks.values():
            task.cancel()  # a no-op on the workers that stopped in time
        results = await asyncio.gather(*tasks.values(), loading, return_exceptions=True)
        for name, result in zip([*tasks, "model loading"], results, strict=True):
            if isinstance(result, Exception):
                log.error("The %s ended with %s", name, result)
        for worker in workers.values():
            await worker.client.aclose()


# Watching and the outcome


async def _watch(
    client: QueueClient, options: DemoOptions, view: DemoView, stop: _Stop, deadline: float
) -> dict[str, dict]:
    """Poll each app's status and the overview until every app's job is over, the deadline
    passes or `stop` is set; returns the last status of each app."""
    jobs: dict[str, dict] = {}
    while True:
        try:
            for app_id in options.all_apps:
                jobs[app_id] = await client.status(app_id)
            view.update(jobs, await client.overview())
        except (ServiceError, ServiceUnavailableError) as exc:
            stop.set(f"the service did not answer: {exc}")
        if all(job.get("status") in FINAL_STATUSES for job in jobs.values()) and len(jobs) == len(
            options.all_apps
        ):
            return jobs
        if stop.event.is_set() or time.monotonic() >= deadline:
            return jobs
        with suppress(TimeoutError):
            async with asyncio.timeout(min(options.poll_interval, deadline - time.monotonic())):
                await stop.event.wait()


async def _outcome(
    client: QueueClient, options: DemoOptions, jobs: dict[str, dict], stop: _Stop, started: float
) -> Outcome:
    outcome = Outcome(jobs=jobs, timeout=options.timeout, interrupted=stop.signal is not None)
    for app_id in options.apps:
        job = jobs.get(app_id, {})
        if (job.get("stage"), job.get("status")) == ("done", "completed"):
            try:
                outcome.summaries[app_id] = await client.summary(app_id)
            except (ServiceError, ServiceUnavailableError) as exc:
                outcome.problems.append(f"{app_id}: no summary ({exc})")
        else:
            outcome.problems.append(f"{app_id} did not complete ({_where(job)})")
    if options.unknown_app:
        job = jobs.get(options.unknown_app, {})
        if job.get("status") != "error":
            outcome.problems.append(
                f"{options.unknown_app} should have failed, but it is at {_where(job)}"
            )
    if outcome.problems:
        if stop.reason:
            outcome.problems.insert(0, stop.reason)
        elif time.monotonic() - started >= options.timeout:
            outcome.problems.insert(0, f"timed out after {options.timeout:g}s")
    try:
        outcome.overview = await client.overview()
    except (ServiceError, ServiceUnavailableError) as exc:
        outcome.problems.append(f"no overview ({exc})")
    return outcome


def _where(job: dict) -> str:
    if not job:
        return "no job"
    return f"{job.get('stage')}/{job.get('status')}"


def _configure_logging(console: Console, level: str) -> None:
    """Log records from `level` up go above the live table in a terminal, else to stderr."""
    handler: logging.Handler
    if console.is_terminal:  # printed above the live table
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_hide_embedded_store_notice)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _hide_embedded_store_notice(record: logging.LogRecord) -> bool:
    """The service warns that it runs on the embedded store: the demo says so itself."""
    return not (record.name == "service" and "embedded in-memory store" in record.getMessage())
