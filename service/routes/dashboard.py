"""GET /dashboard: the dashboard's page and its assets, served by the service itself.

The page and its scripts hold no data (public, like /health); every call they make for data
carries the API key the page asks for once and keeps in the tab's sessionStorage. Nothing is
loaded from anywhere else: the Content-Security-Policy lets the page reach this origin only,
with no inline script or style.
"""

from functools import cache
from pathlib import Path

from litestar import MediaType, Response, get
from litestar.static_files import create_static_files_router

from service.access import PUBLIC
from service.routes.deps import SettingsDep

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard"
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


@cache
def _page() -> str:
    return (DASHBOARD / "index.html").read_text(encoding="utf-8")


@get("/dashboard", opt=PUBLIC, include_in_schema=False, media_type=MediaType.HTML)
async def dashboard(settings: SettingsDep) -> Response[str]:
    """The page; it says whether the API wants a key (REVIEW_QUEUE_AUTH), nothing else."""
    auth = "required" if settings.auth_required else "off"
    return Response(
        _page().replace("{{auth}}", auth), media_type=MediaType.HTML, headers=SECURITY_HEADERS
    )


def _asset_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


assets = create_static_files_router(
    path="/dashboard/assets",
    directories=[DASHBOARD / "assets"],
    name="dashboard-assets",
    opt=PUBLIC,
    include_in_schema=False,
    after_request=_asset_headers,
)
