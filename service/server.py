"""uvicorn's server, made to end the open event streams when it stops.

On SIGINT/SIGTERM uvicorn stops accepting connections and then waits (up to its graceful
timeout) for the open ones to finish before the app's own shutdown runs. An event stream never
finishes by itself, so the server first tells the app's event hub to end them: each stream
sends a last comment and closes, and its client reconnects (to another replica, or to this one
once it is back) with Last-Event-ID.
"""

import socket

import uvicorn


class Server(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        state = getattr(self.config.app, "state", None)
        hub = getattr(state, "events", None) if state is not None else None
        if hub is not None:
            hub.closing()
        await super().shutdown(sockets)
