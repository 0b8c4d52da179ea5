"""Bodies of the recurring schedules API (msgspec structs)."""

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from service.clock import iso
from service.cron import MAX_CRON_LENGTH
from service.domain import MAX_RETRIES_LIMIT
from service.limits import params_problem
from service.schemas import (
    DEFAULT_PRIORITY,
    PRIORITY_DESCRIPTION,
    AppId,
    Params,
    Priority,
    invalid,
    priority_number,
)

Cron = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_CRON_LENGTH,
        description="A crontab line: minute hour day-of-month month day-of-week, read in "
        "`timezone`, checked by APScheduler's CronTrigger. Day of week as in crontab (0 and 7 "
        "are Sunday, or sun..sat); a day of month and a day of week given together must both "
        "match.",
        examples=["0 6 * * *", "30 7 * * mon-fri"],
    ),
]
TimeZone = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_+\-/]+$",
        description="An IANA time zone name",
        examples=["Europe/Berlin"],
    ),
]
MaxRetries = Annotated[
    int,
    Meta(ge=0, le=MAX_RETRIES_LIMIT, description="Retries per stage of each run it adds"),
]
Force = Annotated[
    bool,
    Meta(
        description="Add a run even when the app's latest run completed (a refresh): true by "
        "default, unlike /queue/add; an active run still means the firing is skipped"
    ),
]


class NewSchedule(Struct, forbid_unknown_fields=True):
    app_id: AppId
    cron: Cron
    timezone: TimeZone = "UTC"
    priority: Annotated[Priority, Meta(description=PRIORITY_DESCRIPTION)] = DEFAULT_PRIORITY
    params: Params = {}
    force: Force = True
    max_retries: MaxRetries | None = None

    def __post_init__(self) -> None:
        self.priority = priority_number(self.priority)
        if found := params_problem(self.params):
            raise invalid(*found)


class ScheduleChange(Struct, forbid_unknown_fields=True):
    """What PATCH changes; a field left out keeps its value. A new cron or timezone sets the
    next run anew."""

    cron: Cron | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET
    priority: Annotated[Priority, Meta(description=PRIORITY_DESCRIPTION)] | UnsetType = UNSET
    params: Params | UnsetType = UNSET
    force: Force | UnsetType = UNSET
    max_retries: MaxRetries | UnsetType = UNSET

    def __post_init__(self) -> None:
        if self.priority is not UNSET:
            self.priority = priority_number(self.priority)
        if self.params is not UNSET and (found := params_problem(self.params)):
            raise invalid(*found)

    def changes(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in self.__struct_fields__
            if getattr(self, name) is not UNSET
        }


class ScheduleView(Struct):
    schedule_id: str
    app_id: str
    cron: str
    timezone: str
    priority: int
    params: dict[str, Any]
    force: bool
    max_retries: int | None
    paused: bool
    next_run_at: Annotated[str | None, Meta(description="None while paused")]
    created_at: str
    updated_at: str
    runs: Annotated[int, Meta(description="How often it fired")]
    last_run_at: Annotated[str | None, Meta(description="When it last fired")]
    last_result: Annotated[
        Literal["queued", "queued_already", "exists", "failed"] | None,
        Meta(
            description="What its last firing's add answered: queued (a new run), "
            "queued_already (skipped: a run was active), exists (the app is done and force is "
            "false), failed (see last_error)"
        ),
    ]
    last_job_id: str | None
    last_error: str | None


class SchedulePage(Struct):
    schedules: list[ScheduleView]
    next_cursor: Annotated[
        str | None, Meta(description="Pass it back as `cursor` for the next page")
    ]


def schedule_view(doc: dict[str, Any]) -> ScheduleView:
    return ScheduleView(
        schedule_id=doc["_id"],
        app_id=doc["app_id"],
        cron=doc["cron"],
        timezone=doc["timezone"],
        priority=doc["priority"],
        params=doc.get("params") or {},
        force=doc["force"],
        max_retries=doc.get("max_retries"),
        paused=doc["paused"],
        next_run_at=iso(doc.get("next_run_at")),
        created_at=iso(doc["created_at"]),
        updated_at=iso(doc["updated_at"]),
        runs=doc.get("runs", 0),
        last_run_at=iso(doc.get("last_run_at")),
        last_result=doc.get("last_result"),
        last_job_id=doc.get("last_job_id"),
        last_error=doc.get("last_error"),
    )
