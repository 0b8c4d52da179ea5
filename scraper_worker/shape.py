"""What every source does to a review to give it the service's shape: the limits of its
fields, its time in UTC. Shared by sources.py (Google Play, the demo data) and
app_store.py, which sources.py imports and so cannot import from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# the service's limits (service/results_schemas.py): longer values would fail the whole batch
LIMITS = {
    "review_id": 200,
    "content": 20_000,
    "user_name": 500,
    "app_version": 200,
    "reply": 20_000,
}


def iso_z(moment: datetime) -> str | None:
    """UTC, ISO-8601 with Z; a naive datetime is taken as the machine's local time (what
    datetime.fromtimestamp, used by google-play-scraper, returns). None for a time UTC
    cannot hold (9999-12-31T23:59:59-07:00 is in the year 10000): a broken review."""
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:
        return None


def clip(value: Any, limit: int) -> str | None:
    """The value as text, cut to `limit` characters; None stays None."""
    if value is None:
        return None
    text = str(value)
    return text[:limit]
