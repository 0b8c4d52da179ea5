"""GET /dashboard: the dashboard's page and its assets, served by the service itself.

The page and its scripts hold no data (public, like /health); every call they make for data
carries the API key the page asks for once and keeps in the tab's sessionStorage. Nothing is
loaded from anywhere else: the Content-Security-Policy lets the page reach this origin only,
with no inline script or style.
"""

from functools import cache
from pathlib import Path

from litestar import MediaType, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

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


MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@cache
def _assets() -> dict[str, tuple[bytes, str]]:
    """The dashboard's files by name, read once: a request names one of them or gets a 404,
    so no path from a request ever reaches the file system."""
    return {
        path.name: (path.read_bytes(), MEDIA_TYPES[path.suffix])
        for path in (DASHBOARD / "assets").iterdir()
        if path.suffix in MEDIA_TYPES
    }


@get("/dashboard/assets/{name:str}", opt=PUBLIC, include_in_schema=False)
async def assets(name: FromPath[str]) -> Response[bytes]:
    found = _assets().get(name)
    if found is None:
        raise NotFoundException("No such dashboard file", extra={"name": name[:200]})
    content, media_type = found
    return Response(content, media_type=media_type, headers=SECURITY_HEADERS)
