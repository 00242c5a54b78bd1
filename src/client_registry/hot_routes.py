"""The two calls an authorization server makes on every token request, get
and authenticate, dispatched without FastAPI's per-request machinery.

The innermost middleware: the request id, the access line, the metrics, the
token check, the body checks and HEAD have all been done outside it. It
calls the very handlers FastAPI declares (so the OpenAPI document, the
validation model and the responses are theirs) after matching the route and
reading the parameters itself, which costs a fraction of FastAPI's routing,
dependency solving and exception handling. A request it is not sure of (a
body that is not plain JSON, or does not validate) goes on to FastAPI
unchanged, which answers it as it always has: an error shape is never built
twice."""

import json
from typing import Any

from pydantic import ValidationError
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from client_registry.body_guard import replay
from client_registry.problems import Problem
from client_registry.routes import clients
from client_registry.schemas import AuthenticateClient

# Media types read here; any other (a charset parameter, odd casing) is
# left to FastAPI's own parsing of the header.
_JSON = b"application/json"


def _route(name: str) -> Any:
    return next(route for route in clients.router.routes if getattr(route, "name", "") == name)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body (BodyGuard has bounded it); None if the caller left."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += bytes(message.get("body", b""))
        if not message.get("more_body", False):
            return body


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a header, as Starlette's `headers.get` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class HotRoutes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._get = _route("getClient")
        self._authenticate = _route("authenticateClient")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            if method == "GET" and await self._get_client(scope, receive, send):
                return
            if method == "POST":
                onward = await self._authenticate_client(scope, receive, send)
                if onward is not None:
                    await self.app(scope, onward, send)
                return
        await self.app(scope, receive, send)

    def _matched(self, route: Any, scope: Scope) -> bool:
        """Matches as FastAPI's router would, and sets what it would set
        (`route`, `path_params`, `endpoint`) for the layers outside."""
        match, child_scope = route.matches(scope)
        if match != Match.FULL:
            return False
        scope.update(child_scope)
        return True

    async def _get_client(self, scope: Scope, receive: Receive, send: Send) -> bool:
        if not self._matched(self._get, scope):
            return False
        if_none_match = _header(scope, b"if-none-match")
        try:
            response = await clients.get_client(
                scope["path_params"]["client_id"],
                scope["app"].state.runtime,
                None if if_none_match is None else if_none_match.decode("latin-1"),
            )
        except Problem as problem:
            response = problem.response()
        await response(scope, receive, send)
        return True

    async def _authenticate_client(
        self, scope: Scope, receive: Receive, send: Send
    ) -> Receive | None:
        """None when answered; otherwise the channel to hand on, which
        replays the body if it was read."""
        if _header(scope, b"content-type") != _JSON or not self._matched(self._authenticate, scope):
            return receive
        body = await _read_body(receive)
        if body is None:  # the caller went away
            return None
        try:
            parsed = AuthenticateClient.model_validate(json.loads(body))
        except (ValueError, ValidationError):
            # FastAPI answers these (400, 422) with its own error details.
            return replay(body, receive)
        try:
            response = await clients.authenticate_client(
                scope["path_params"]["client_id"], parsed, scope["app"].state.runtime
            )
        except Problem as problem:
            response = problem.response()
        await response(scope, receive, send)
        return None
