"""Cron expressions of recurring schedules, parsed and validated by APScheduler's CronTrigger.

A schedule's `cron` is a classic five-field crontab line (minute, hour, day of month, month,
day of week), read in the schedule's time zone. APScheduler 3 numbers the days of the week
from Monday = 0, where crontab has Sunday = 0 (and 7): a line written for cron would fire on
the wrong day. So the day-of-week field is read here the crontab way (numbers 0-7, names
sun..sat, ranges, lists and steps) and handed to CronTrigger as day names. As in APScheduler
(and unlike classic cron, which fires when either matches), a day of month and a day of week
given together must both match.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from service.clock import to_millis
from service.domain import InvalidField

CRONTAB_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]  # crontab: 0 (and 7) = sun
MAX_CRON_LENGTH = 200


class CronError(InvalidField):
    """An expression or time zone that cannot be used (a 422): `field` names which, `reason`
    why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(
            "timezone", f"Unknown time zone {name!r} (an IANA name: Europe/Berlin)"
        ) from None


def trigger(expression: str, timezone: str) -> CronTrigger:
    """The trigger of a crontab line in a time zone; CronError saying what is wrong."""
    tz = zone(timezone)
    if not expression.isascii():  # an Arabic-Indic digit passed for a day of month
        raise CronError("cron", "Only ASCII: digits 0-9, names such as mon or jan, and * , - /")
    fields = expression.split()
    if len(fields) != 5:
        raise CronError(
            "cron",
            f"Wrong number of fields: got {len(fields)}, expected 5 (minute, hour, day of "
            "month, month, day of week)",
        )
    minute, hour, day, month, day_of_week = fields
    try:
        days = crontab_weekdays(day_of_week)
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=days, timezone=tz
        )
    except CronError:
        raise
    except (ValueError, TypeError) as exc:  # CronTrigger's own reason
        raise CronError("cron", str(exc)) from None


def next_after(cron: CronTrigger, moment: datetime) -> datetime | None:
    """The first firing strictly after `moment` (UTC, to the millisecond), None if none."""
    found = cron.get_next_fire_time(None, moment + timedelta(microseconds=1))
    return to_millis(found) if found is not None else None


def validate(expression: str, timezone: str, now: datetime) -> datetime:
    """The next firing after `now` of a valid expression; CronError otherwise (also for one
    that never fires, such as the 30th of February)."""
    if len(expression) > MAX_CRON_LENGTH:
        raise CronError("cron", f"Longer than {MAX_CRON_LENGTH} characters")
    following = next_after(trigger(expression, timezone), now)
    if following is None:
        raise CronError("cron", "This expression never fires")
    return following


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field as APScheduler day names ("1-5" -> "mon,tue,wed,thu,fri")."""
    days: set[int] = set()
    for part in field.split(","):
        base, slash, step_text = part.partition("/")
        step = _number(step_text, "step") if slash else 1
        if step < 1:
            raise CronError("cron", f"Day of week: the step in {part!r} must be at least 1")
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _day(first), _day(last)
            if low > high:
                raise CronError("cron", f"Day of week: {part!r} runs backwards")
        else:
            low = _day(base)
            high = max(low, 6) if slash else low  # "1/2": from 1 to the end, every 2nd
        days.update(day % 7 for day in range(low, high + 1, step))
    if len(days) == 7:
        return "*"
    # APScheduler's names, Monday first
    return ",".join(CRONTAB_DAYS[day] for day in sorted(days, key=lambda d: (d - 1) % 7))


def _day(text: str) -> int:
    lowered = text.lower()
    if lowered in CRONTAB_DAYS:
        return CRONTAB_DAYS.index(lowered)
    number = _number(text, "day")
    if not 0 <= number <= 7:
        raise CronError("cron", f"Day of week: {text!r} is not 0-7 (0 and 7 are Sunday)")
    return number


def _number(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise CronError(
            "cron", f"Day of week: {text!r} is not a {what} (0-7, or sun, mon, ... sat)"
        )
    return int(text)
