"""What the route modules share: dependency markers and the values a request may send in its
body or as a header."""

from typing import Annotated

from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import HeaderParameter, PathParameter, QueryParameter

from service.fresh import Fresh
from service.keys import KeyStore
from service.operator_actions import OperatorActions
from service.results import ResultStore
from service.schedules import ScheduleStore
from service.schemas import APP_ID_PATTERN
from service.settings import Settings
from service.store import JobStore
from service.workers import WorkerRegistry

StoreDep = NamedDependency[JobStore]
ResultsDep = NamedDependency[ResultStore]
OperatorDep = NamedDependency[OperatorActions]
SettingsDep = NamedDependency[Settings]
KeysDep = NamedDependency[KeyStore]
WorkersDep = NamedDependency[WorkerRegistry]
SchedulesDep = NamedDependency[ScheduleStore]
HealthDep = NamedDependency[Fresh]  # GET /health's kept answer

WORKER_HEADER = "X-Worker-ID"
# a header's bytes are read as Latin-1: "wörker" would be stored garbled (send it in the body)
PRINTABLE_ASCII = r"^[\x20-\x7e]+$"
TOKEN_HEADER = "X-Lease-Token"
WorkerHeader = Annotated[
    str | None,
    HeaderParameter(
        name=WORKER_HEADER,
        required=False,
        min_length=1,
        max_length=200,
        pattern=PRINTABLE_ASCII,
        description="The worker's id, when the body has no worker_id",
    ),
]
TokenHeader = Annotated[
    str | None,
    HeaderParameter(
        name=TOKEN_HEADER,
        required=False,
        min_length=1,
        max_length=200,
        pattern=PRINTABLE_ASCII,
        description="The lease token, when the body has no lease_token",
    ),
]
AppIdPath = Annotated[
    str,
    PathParameter(
        min_length=1,
        max_length=256,
        pattern=APP_ID_PATTERN,
        description="A store package name (com.spotify.music) or a numeric App Store id",
    ),
]
IdPath = Annotated[str, PathParameter(min_length=1, max_length=64)]  # a job, schedule or key id
CursorQuery = Annotated[  # every paged listing's: encoded by service/cursor.py
    str | None,
    QueryParameter(
        min_length=1,
        max_length=1000,
        description="The previous page's next_cursor, as it was given",
    ),
]
AppIdQuery = Annotated[
    str | None,
    QueryParameter(
        required=False,
        min_length=1,
        max_length=256,
        pattern=APP_ID_PATTERN,
        description="Only this app's",
    ),
]


def body_or_header(
    field: str, body_value: str | None, header: str, header_value: str | None
) -> str:
    """A required value that may come in the body or as a header; a 422 naming it if neither."""
    value = body_value or header_value
    if not value:
        raise ValidationException(
            f"{field} is required",
            extra=[{"key": field, "message": f"Send it in the body or as {header}"}],
        )
    return value
