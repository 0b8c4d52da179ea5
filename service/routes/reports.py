"""The daily overview reports: the stored days, one day, today so far."""

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from service.access import needs
from service.keys import Role
from service.report_schemas import DailyReport, ReportList, daily_report, listing
from service.reports import ReportStore, parse_day
from service.routes.docs import errors

ReportsDep = NamedDependency[ReportStore]
DateOrToday = Annotated[
    str,
    PathParameter(
        pattern=r"^(today|[0-9]{4}-[0-9]{2}-[0-9]{2})$",
        description="YYYY-MM-DD (a day in REVIEW_QUEUE_TIMEZONE), or `today`",
    ),
]


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]

    @get(
        "/daily",
        opt=needs(Role.READER),
        summary="The dates whose daily report is stored, newest first",
        responses=errors(422),
    )
    async def list_reports(
        self,
        reports: ReportsDep,
        limit: Annotated[int, QueryParameter(ge=1, le=400)] = 60,
        before: Annotated[
            str | None,
            QueryParameter(
                pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                description="Only dates before this one (YYYY-MM-DD): the next page",
            ),
        ] = None,
    ) -> ReportList:
        bound = parse_day(before, "before") if before is not None else None
        found = await reports.listing(limit, bound)
        return ReportList(
            timezone=reports.zone.key,
            today=reports.today().isoformat(),
            reports=[listing(doc) for doc in found],
        )

    @get(
        "/daily/{date:str}",
        opt=needs(Role.READER),
        summary="One day's report; `today` for the day so far",
        description="A past day's stored report; one that has none is computed from the "
        "history and stored first (404 when its history is no longer kept). `today` is "
        "never stored, and computed at most once every 5 s per service process (its "
        "generated_at says when). 422 for a date that is malformed or in the future.",
        responses=errors(404, 422),
    )
    async def one_day(self, date: DateOrToday, reports: ReportsDep) -> DailyReport:
        day = reports.today() if date == "today" else parse_day(date)
        doc, source = await reports.report(day)
        return daily_report(doc, source)
