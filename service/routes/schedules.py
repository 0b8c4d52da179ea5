"""Recurring schedules: /schedules. Created and changed by a client (they create jobs) or an
operator; read by a reader."""

from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.access import needs
from service.keys import Role
from service.routes.deps import AppIdQuery, CursorQuery, IdPath, SchedulesDep
from service.routes.docs import BODY_ERRORS, action, errors
from service.schedule_schemas import (
    NewSchedule,
    ScheduleChange,
    SchedulePage,
    ScheduleView,
    schedule_view,
)


class ScheduleController(Controller):
    path = "/schedules"
    tags = ["schedules"]

    @post(
        opt=needs(Role.CLIENT),
        summary="Add a run for an app on a cron schedule",
        description="201 with the schedule and its next_run_at. When it comes due, the service "
        "adds a run as /queue/add would (skipped while the app has an active run) and records "
        "the outcome on the schedule. A cron expression CronTrigger refuses, one that never "
        "fires, or an unknown time zone is a 422 with the reason.",
        responses=errors(*BODY_ERRORS),
    )
    async def create(
        self, data: JSONBody[NewSchedule], schedules: SchedulesDep
    ) -> Response[ScheduleView]:
        fields = {
            "app_id": data.app_id,
            "cron": data.cron,
            "timezone": data.timezone,
            "priority": data.priority,
            "params": data.params,
            "force": data.force,
            "max_retries": data.max_retries,
        }
        doc = await schedules.create(fields)
        return Response(schedule_view(doc), status_code=HTTP_201_CREATED)

    @get(
        opt=needs(Role.READER),
        summary="Schedules by id, a page at a time; of one app with app_id",
        responses=errors(422),
    )
    async def list_schedules(
        self,
        schedules: SchedulesDep,
        app_id: AppIdQuery = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        cursor: CursorQuery = None,
    ) -> SchedulePage:
        page, next_cursor = await schedules.page(app_id, cursor, limit)
        return SchedulePage([schedule_view(doc) for doc in page], next_cursor)

    @get(
        "/{schedule_id:str}",
        opt=needs(Role.READER),
        summary="One schedule, with its next run and its last firing's outcome",
        responses=errors(404, 422),
    )
    async def get_schedule(self, schedule_id: IdPath, schedules: SchedulesDep) -> ScheduleView:
        return schedule_view(await schedules.get(schedule_id))

    @patch(
        "/{schedule_id:str}",
        opt=needs(Role.CLIENT),
        summary="Change a schedule's cron, timezone, priority, params, force or max_retries",
        description="Fields left out keep their value; a new cron or timezone sets next_run_at "
        "anew.",
        responses=errors(404, 409, *BODY_ERRORS),
    )
    async def change(
        self, schedule_id: IdPath, data: JSONBody[ScheduleChange], schedules: SchedulesDep
    ) -> ScheduleView:
        doc = await schedules.change(schedule_id, data.changes())
        return schedule_view(doc)

    @action(
        "/{schedule_id:str}/pause",
        Role.CLIENT,
        "Stop firing until resumed (next_run_at becomes null)",
    )
    async def pause(self, schedule_id: IdPath, schedules: SchedulesDep) -> ScheduleView:
        return schedule_view(await schedules.pause(schedule_id))

    @action(
        "/{schedule_id:str}/resume",
        Role.CLIENT,
        "Fire again from the next time after now (what it missed is not made up)",
    )
    async def resume(self, schedule_id: IdPath, schedules: SchedulesDep) -> ScheduleView:
        return schedule_view(await schedules.resume(schedule_id))

    @delete(
        "/{schedule_id:str}",
        opt=needs(Role.CLIENT),
        status_code=HTTP_200_OK,
        summary="Delete a schedule (the runs it added stay); answers it as it was",
        responses=errors(404, 422),
    )
    async def delete_schedule(self, schedule_id: IdPath, schedules: SchedulesDep) -> ScheduleView:
        return schedule_view(await schedules.delete(schedule_id))
