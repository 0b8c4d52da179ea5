"""uvicorn's server, made to end the open event streams when it stops.

On SIGINT/SIGTERM uvicorn stops accepting connections and then waits (up to its graceful
timeout) for the open ones to finish before the app's own shutdown runs. An event stream never
finishes by itself, so the server first tells the app's event hub to end them: each stream
sends a last comment and closes, and its client reconnects (to another replica, or to this one
once it is back) with Last-Event-ID.
"""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Any

import uvicorn


class Server(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        state = getattr(self.config.app, "state", None)
        hub = getattr(state, "events", None) if state is not None else None
        if hub is not None:
            hub.closing()
        await super().shutdown(sockets)


class _InLoopServer(Server):
    def capture_signals(self):  # the caller's signal handlers stay its own
        return nullcontext()


@asynccontextmanager
async def serving_in_loop(
    app: Any, sock: socket.socket, *, stop_timeout: float = 15.0
) -> AsyncIterator[tuple[Server, asyncio.Task]]:
    """`app` served on a bound socket inside the running event loop (the demo, the tests), with
    no signal handling of its own: (the server, its task). Stopped, and the socket closed, on
    exit; cancelled if it has not stopped within `stop_timeout` seconds."""
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    server = _InLoopServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="service")
    try:
        yield server, task
    finally:
        server.should_exit = True
        await asyncio.wait({task}, timeout=stop_timeout)
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
        sock.close()
