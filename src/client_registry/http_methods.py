"""HEAD wherever GET works, and a 405 whose Allow lists every method of the path.

One ASGI piece rather than a HEAD route beside each GET: FastAPI would list
every such route in the OpenAPI document, and Starlette's 405 names the
methods of the one route it tried, not of the path."""

from collections.abc import Iterable, Iterator
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(prefix, route) for every route with methods, through included routers
    (which newer FastAPI keeps as routers rather than copying their routes)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context_prefix = getattr(getattr(route, "include_context", None), "prefix", "")
            yield from _routes(included.routes, prefix + (context_prefix or ""))
        elif getattr(route, "methods", None):
            yield prefix, route


def allowed_methods(scope: Scope) -> list[str]:
    """Every method some route of the app answers on this path."""
    methods: set[str] = set()
    for prefix, route in _routes(scope["app"].router.routes):
        if not scope["path"].startswith(prefix):
            continue
        inner = {**scope, "path": scope["path"][len(prefix) :], "root_path": ""}
        if route.matches(inner)[0] != Match.NONE:
            methods |= route.methods
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods, key=lambda method: _ORDER.index(method) if method in _ORDER else 99)


class HttpMethods:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def reply(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(allowed_methods(scope)).encode("latin-1")
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            elif head and message["type"] == "http.response.body":
                # The GET's headers, Content-Length included, and no body.
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, reply)
