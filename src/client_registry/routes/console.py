"""The administrators' web console: static files shipped inside the package.

The page talks to /v1 with the token an administrator pastes; it needs no
token to load, and every file is served with headers that keep it from
running anything not shipped here or being framed by another site."""

from importlib.resources import files

from fastapi import APIRouter, Response

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
CONSOLE_HEADERS = {
    "Content-Security-Policy": CONSOLE_CSP,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_FOLDER = files("client_registry") / "console"
# Only the files shipped in the package are served, so a name in the URL can
# never reach anything else on disk.
_ASSETS = {
    item.name: (item.read_bytes(), _MEDIA_TYPES[suffix])
    for item in _FOLDER.iterdir()
    for suffix in _MEDIA_TYPES
    if item.is_file() and item.name.endswith(suffix)
}

router = APIRouter(prefix="/console", include_in_schema=False)


def _file(name: str) -> Response:
    asset = _ASSETS.get(name)
    if asset is None:
        return Response("not found\n", status_code=404, headers=CONSOLE_HEADERS)
    content, media_type = asset
    return Response(content, media_type=media_type, headers=CONSOLE_HEADERS)


@router.api_route("", methods=["GET", "HEAD"])
def console_page() -> Response:
    """The console's single page."""
    return _file("index.html")


@router.api_route("/{name:path}", methods=["GET", "HEAD"])
def console_asset(name: str) -> Response:
    """A script, style sheet or icon of the console."""
    return _file(name)
