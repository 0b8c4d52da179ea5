"""create_app(settings): wires the store, the routes, the scheduler and the error handlers."""

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from service.access import require_role, undeclared
from service.allow import AllowEveryMethod
from service.auth import authentication
from service.db import connect, describe
from service.errors import EXCEPTION_HANDLERS
from service.events import EventHub, new_channels
from service.health import kept_answers
from service.json_body import JSONRequest, require_json
from service.keys import KeyStore
from service.metrics import QueueMetrics
from service.openapi import openapi_config
from service.operator_actions import OperatorActions
from service.rate_limit import parse_rate, rate_limit
from service.reports import ReportStore
from service.results import ResultStore
from service.routes.apps import AppResultsController
from service.routes.dashboard import assets, dashboard
from service.routes.events import queue_events
from service.routes.health import health
from service.routes.keys import KeyController
from service.routes.metrics import MetricsController, prometheus_config
from service.routes.operator import OperatorController
from service.routes.queue import QueueController
from service.routes.reports import ReportController
from service.routes.schedules import ScheduleController
from service.routes.stats import StatsController
from service.routes.workers import WorkersController
from service.scheduler import start_scheduler
from service.schedules import ScheduleStore
from service.settings import Settings
from service.store import JobStore
from service.workers import WorkerRegistry

log = logging.getLogger("service")

# Dependencies the handlers take (`store: StoreDep` ...) -> what lifespan put in app.state.
FROM_STATE = {
    "store": "store",
    "results": "results",
    "keys": "key_store",  # not `keys`: State is a mapping, and that is its method
    "workers": "workers",
    "metrics": "metrics",
    "schedules": "schedules",
    "events": "events",
    "reports": "reports",
    "answers": "health",
}


def _from_state(attribute: str) -> Provide:
    def provide(state: State) -> Any:
        return getattr(state, attribute)

    return Provide(provide, sync_to_thread=False)


def create_app(settings: Settings) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        connection = await connect(settings)
        log_store = log.warning if connection.embedded else log.info
        log_store("Using %s", describe(connection, settings))
        store = JobStore(
            connection.database,
            client=connection.client,
            transactions=connection.transactions,
            retry=settings.retry,
            retention_days=settings.retention_days,
            timeout_seconds=None if connection.embedded else settings.db_timeout,
        )
        await store.ensure_indexes()
        app.state.store = store
        app.state.results = ResultStore(connection.database, bulk_writes=not connection.embedded)
        app.state.key_store = KeyStore(connection.database, admin_key=settings.admin_key)
        app.state.workers = WorkerRegistry(connection.database, store)
        app.state.metrics = QueueMetrics(store)
        app.state.health = kept_answers()
        app.state.schedules = ScheduleStore(connection.database, store)
        app.state.reports = ReportStore(
            connection.database,
            store,
            timezone=settings.timezone,
            retention_days=settings.retention_days,
        )
        if settings.auth_required:
            log.info("Access: an API key is required on every route but GET /health")
        else:
            log.warning(
                "REVIEW_QUEUE_AUTH is off: anyone who can reach this port may do anything "
                "(set MONGODB_URI, or REVIEW_QUEUE_AUTH=required, to require API keys)"
            )
        async with AsyncExitStack() as stack:
            stack.push_async_callback(connection.close)
            channels = await stack.enter_async_context(new_channels())
            events = EventHub(channels, store, keepalive_seconds=settings.events_keepalive)
            stack.push_async_callback(events.close)
            if connection.transactions:  # a replica set (or mongos): change streams
                events.follow_change_streams()
            else:
                events.listen_in_process()
            log.info("Events: published %s", events.source)
            app.state.events = events
            scheduler = start_scheduler(
                store, settings, reports=app.state.reports, schedules=app.state.schedules
            )
            stack.callback(scheduler.shutdown, wait=False)
            yield

    def provide_operator(state: State) -> OperatorActions:
        return OperatorActions(state.store)

    def provide_settings() -> Settings:
        return settings

    middleware = [AllowEveryMethod()]
    if settings.auth_required:
        middleware.insert(0, authentication())
    rate = parse_rate(settings.rate_limit)
    if rate is not None:
        middleware.insert(0, rate_limit(rate))
    middleware.insert(0, prometheus_config().middleware)  # outermost: refusals count too
    app = Litestar(
        route_handlers=[
            QueueController,
            StatsController,
            WorkersController,
            MetricsController,
            ScheduleController,
            OperatorController,
            AppResultsController,
            KeyController,
            queue_events,
            ReportController,
            dashboard,
            assets,
            health,
        ],
        dependencies={
            **{name: _from_state(attribute) for name, attribute in FROM_STATE.items()},
            "operator": Provide(provide_operator, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        lifespan=[lifespan],
        guards=[require_role, require_json],
        middleware=middleware,
        request_class=JSONRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(),
        logging_config=None,
        state=State({"auth_required": settings.auth_required}),
    )
    missing = undeclared(app.routes)
    if missing:
        raise RuntimeError(f"routes that declare no role: {missing}")
    return app
