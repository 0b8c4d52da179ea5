"""The app served by uvicorn on loopback inside the test's own event loop, and a reader of
Server-Sent Events, for what the in-process test client cannot do (it waits for a response to
end, and an event stream never does).

    async with serving(create_app(settings)) as served:
        async with httpx.AsyncClient(base_url=served.url) as http:
            async with http.stream("GET", "/queue/events") as response:
                events = sse(response)
                first = await next_event(events)
"""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from service.server import Server, serving_in_loop


@dataclass
class Served:
    url: str
    server: Server


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[Served]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    async with serving_in_loop(app, sock) as (server, task):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", server)


@dataclass
class Event:
    kind: str = "message"
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)
    retry: int | None = None

    def json(self) -> Any:
        return json.loads(self.data)


async def sse(response: httpx.Response) -> AsyncIterator[Event]:
    """The events of a text/event-stream, comments included (as events of kind 'comment')."""
    current = Event()
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                current.data = "\n".join(data)
                yield current
            elif current.comments or current.retry is not None:
                current.kind = "comment"
                yield current
            current, data = Event(), []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            current.comments.append(value)
        elif name == "event":
            current.kind = value
        elif name == "id":
            current.id = value
        elif name == "data":
            data.append(value)
        elif name == "retry":
            current.retry = int(value)


async def next_event(events: AsyncIterator[Event], kind: str | None = None, timeout=5.0) -> Event:
    """The next event (of `kind`, skipping others), within `timeout` seconds."""
    async with asyncio.timeout(timeout):
        async for event in events:
            if kind is None or event.kind == kind:
                return event
    raise AssertionError("the stream ended")


async def until_live(events: AsyncIterator[Event], timeout=5.0) -> list[Event]:
    """The events before the ': live' comment (the replay)."""
    replayed = []
    async with asyncio.timeout(timeout):
        async for event in events:
            if event.kind == "comment" and "live" in event.comments:
                return replayed
            if event.kind != "comment":
                replayed.append(event)
    raise AssertionError("the stream ended before it went live")
