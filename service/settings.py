"""Service settings. The CLI (service/cli.py) fills them from flags and environment variables."""

from dataclasses import dataclass

DEFAULT_DB = "review_queue"


@dataclass(frozen=True)
class Settings:
    mongodb_uri: str | None = None
    mongodb_db: str = DEFAULT_DB
    lease_seconds: int = 600
    reap_interval: float = 10.0
    timezone: str = "UTC"
    max_body_bytes: int = 1024 * 1024
    # Testing aid: make every store call yield to the event loop, so races can interleave.
    yield_store_calls: bool = False

    @property
    def embedded(self) -> bool:
        return not self.mongodb_uri
