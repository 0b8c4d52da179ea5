"""create_app(settings): wires the store, the routes, the scheduler and the error handlers."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from service.allow import AllowEveryMethod
from service.db import connect, describe
from service.errors import EXCEPTION_HANDLERS
from service.json_body import JSONRequest, require_json
from service.openapi import openapi_config
from service.operator_actions import OperatorActions
from service.results import ResultStore
from service.routes.apps import AppResultsController
from service.routes.health import health
from service.routes.operator import OperatorController
from service.routes.queue import QueueController
from service.scheduler import start_scheduler
from service.settings import Settings
from service.store import JobStore

log = logging.getLogger("service")


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
        scheduler = start_scheduler(store, settings)
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)
            await connection.close()

    def provide_store(state: State) -> JobStore:
        return state.store

    def provide_results(state: State) -> ResultStore:
        return state.results

    def provide_operator(state: State) -> OperatorActions:
        return OperatorActions(state.store)

    def provide_settings() -> Settings:
        return settings

    return Litestar(
        route_handlers=[QueueController, OperatorController, AppResultsController, health],
        dependencies={
            "store": Provide(provide_store, sync_to_thread=False),
            "results": Provide(provide_results, sync_to_thread=False),
            "operator": Provide(provide_operator, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        lifespan=[lifespan],
        guards=[require_json],
        middleware=[AllowEveryMethod()],
        request_class=JSONRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(),
        logging_config=None,
    )
