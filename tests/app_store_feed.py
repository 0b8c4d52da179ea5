"""A local stand-in for Apple's feeds, serving the responses shipped in tests/fixtures/app_store/.

    with serving_app_store() as base_url:   # "http://127.0.0.1:<port>"
        AppStoreSource(base_url) ...         # or scraper-worker --app-store-url <base_url>

GET /{country}/rss/customerreviews/page={n}/id={id}/sortby=mostrecent/json answers
`{country}/{id}/page-{n}.json` when the file exists, else a feed without entries (what Apple
answers past the last page). GET /lookup?id=..&country=.. answers `lookup/{id}.json`, else
`{"resultCount": 0, "results": []}`. `fail_next(status, times)` makes the next requests fail
with that status (429, 503 ...), `fail_next(status, path="/lookup")` the next request for a
path that starts so; `requests` lists every path asked for.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FEEDS = Path(__file__).parent / "fixtures" / "app_store"
FEED_PATH = re.compile(
    r"^/(?P<country>[a-z]{2})/rss/customerreviews/page=(?P<page>\d+)/id=(?P<id>\d+)"
    r"/sortby=mostrecent/json$"
)
EMPTY_FEED = {"feed": {"author": {"name": {"label": "iTunes Store"}}, "title": {"label": "x"}}}


class FeedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.requests: list[str] = []
        self.failures: list[tuple[str, int]] = []  # (path prefix, status)
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fail_next(self, status: int, times: int = 1, path: str = "") -> None:
        with self.lock:
            self.failures += [(path, status)] * times

    def _failure(self, path: str) -> int | None:
        for index, (prefix, status) in enumerate(self.failures):
            if path.startswith(prefix):
                del self.failures[index]
                return status
        return None


class _Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        with self.server.lock:
            self.server.requests.append(self.path)
            failure = self.server._failure(url.path)
        if failure is not None:
            self._send(failure, {"error": "synthetic failure"})
            return
        match = FEED_PATH.match(url.path)
        if match:
            path = self.server.root / match["country"] / match["id"] / f"page-{match['page']}.json"
            self._send_file(path, EMPTY_FEED)
        elif url.path == "/lookup":
            app_id = (parse_qs(url.query).get("id") or [""])[0]
            path = self.server.root / "lookup" / f"{app_id}.json"
            if not app_id.isdigit():
                path = Path("/nonexistent")
            self._send_file(path, {"resultCount": 0, "results": []})
        else:
            self._send(404, {"error": "not found"})

    def _send_file(self, path: Path, default: dict) -> None:
        if path.is_file():
            self._send(200, path.read_bytes())
        else:
            self._send(200, default)

    def _send(self, status: int, body: dict | bytes) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@contextmanager
def serving_app_store(root: Path = FEEDS) -> Iterator[FeedServer]:
    server = FeedServer(root)
    thread = threading.Thread(target=server.serve_forever, name="app-store-feed", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
