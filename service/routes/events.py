"""GET /queue/events: the queue's live events as Server-Sent Events."""

from functools import partial
from typing import Annotated

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent

from service.access import needs, principal_of
from service.events import MAX_REPLAY, REPLAY_OVERLAP, EventFilter, EventHub, parse_event_id
from service.keys import Role
from service.routes.deps import AppIdQuery, KeysDep, SettingsDep
from service.routes.docs import errors
from service.schemas import StageName

EventsDep = NamedDependency[EventHub]

DESCRIPTION = f"""A `text/event-stream` that stays open. Two kinds of event (and a `reset`, below):

- `change`: a state change, one per `job_history` row. `id:` is the row's id; `data:` is
  `{{"id", "job_id", "app_id", "stage", "status", "event", "worker_id", "timestamp",
  "version", "error_message"}}`.
- `progress`: a heartbeat's progress (no history row, no `id:`, not replayed); `data:` is
  `{{"job_id", "app_id", "stage", "status", "worker_id", "progress", "message", "timestamp",
  "lease_expires_at"}}`.

A comment (`: keep-alive`) comes every `REVIEW_QUEUE_EVENTS_KEEPALIVE` seconds when nothing
else does, and `: live` once the replay is over. Reconnect with the `Last-Event-ID` header:
the stream first sends what the history still holds from {REPLAY_OVERLAP.seconds} s before
that event on (rows are not always committed in id order), so an event may come twice: drop
ids already seen. When more than {MAX_REPLAY} changes were written since (whatever the
filters), the client is sent one `reset` event instead (`data:` `{{"after", "reason"}}`, no
`id:`): read the state again, then follow. Send the API key as a header (`Authorization:
Bearer`, or `X-API-Key`): read the stream with `fetch()` (EventSource cannot send headers),
never with the key in the URL. When the key is revoked, the stream ends (`: this API key is
no longer valid`) at its next event or keep-alive."""

JobIdFilter = Annotated[
    str | None, QueryParameter(min_length=1, max_length=64, description="Only this job's events")
]
LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="Last-Event-ID",
        required=False,
        max_length=64,
        description="The id of the last change event received: resume after it",
    ),
]


@get(
    "/queue/events",
    opt=needs(Role.READER),
    tags=["events"],
    summary="Live events: state changes and progress (Server-Sent Events)",
    description=DESCRIPTION,
    responses={
        200: ResponseSpec(
            data_container=str,
            media_type="text/event-stream",
            description="An open stream of `change` and `progress` events",
            generate_examples=False,
        ),
        **errors(422),
    },
)
async def queue_events(
    request: Request,
    events: EventsDep,
    keys: KeysDep,
    settings: SettingsDep,
    app_id: AppIdQuery = None,
    job_id: JobIdFilter = None,
    stage: Annotated[StageName | None, QueryParameter(description="Only this stage")] = None,
    last_event_id: LastEventId = None,
) -> ServerSentEvent:
    after = parse_event_id(last_event_id)
    wanted = EventFilter(app_id=app_id, job_id=job_id, stage=stage)
    caller = principal_of(request)
    allowed = partial(keys.still_live, caller) if settings.auth_required else None
    return ServerSentEvent(events.stream(wanted, after, allowed))
