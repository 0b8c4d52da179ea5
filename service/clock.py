"""UTC time as the store keeps it: aware, truncated to the millisecond MongoDB stores."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return to_millis(datetime.now(UTC))


def to_millis(value: datetime) -> datetime:
    """Aware UTC (naive input is taken as UTC), truncated to the millisecond MongoDB keeps."""
    value = as_utc(value)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def as_utc(value: datetime | None) -> datetime | None:
    """Drivers differ: PyMongo can return aware datetimes, mongomock returns naive UTC ones."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def naive_utc(value: datetime) -> datetime:
    """A time as naive UTC, for a date compared inside an aggregation expression: PyMongo sends
    it as the same instant, and mongomock compares it there with the naive datetimes it stores
    (an aware one raises; query filters take either)."""
    return value.astimezone(UTC).replace(tzinfo=None)


def iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The day's first instant in `zone` and the next day's, in UTC (23 to 25 hours apart
    around a change of clocks)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def day_start(now: datetime, zone: ZoneInfo) -> datetime:
    """The first instant of `now`'s day in `zone`, in UTC."""
    return day_bounds(now.astimezone(zone).date(), zone)[0]
