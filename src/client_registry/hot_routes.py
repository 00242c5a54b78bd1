"""The two calls an authorization server makes on every token request, get
and authenticate, answered without FastAPI's per-request machinery and with
one database read each.

It sits inside the layers every response passes (request id, access line,
metrics, crash guard) and outside the admin check, the body guard and
FastAPI. It answers only a request those would have let through to the
handler, and answers it as the handler would (same model, same responses):
the token is active and has the call's scope, the body is JSON of a length
declared and allowed, and it validates. Any other request goes on
unchanged (its body replayed when it was read), and the layers inside
answer it as they always have: an error shape is never built twice.

The gain: FastAPI's routing, dependency solving and exception middleware
cost several times the handler itself, and the token and the client are
read in one statement, so one round trip to PostgreSQL instead of two."""

import json
from typing import Any

from pydantic import ValidationError
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from client_registry import lifecycle, repository, validation
from client_registry.auth import bearer_token, required_scope
from client_registry.body_guard import MAX_BODY_BYTES, replay
from client_registry.problems import Problem
from client_registry.repository import AdminToken
from client_registry.request_headers import first_header
from client_registry.routes import clients
from client_registry.runtime import Runtime
from client_registry.schemas import AuthenticateClient
from client_registry.tokens import token_digest

# The only media type read here; any other (a charset parameter, another
# casing) is left to FastAPI's own reading of the header.
_JSON = b"application/json"


def _route(name: str) -> Any:
    return next(route for route in clients.router.routes if getattr(route, "name", "") == name)


def _declared_length(scope: Scope) -> int | None:
    """The body's declared length when the body guard would accept it. With
    no Transfer-Encoding the server hands on no more than that length, so
    the body is read here without a bound of its own."""
    declared = first_header(scope, b"content-length")
    if (
        declared is None
        or not declared.isdigit()
        or int(declared) > MAX_BODY_BYTES
        or first_header(scope, b"transfer-encoding") is not None
    ):
        return None
    return int(declared)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body; None if the caller went away."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += bytes(message.get("body", b""))
        if not message.get("more_body", False):
            return body


def _admitted(scope: Scope, token: AdminToken) -> bool:
    """The admin check's verdict on an active token, recorded as it records it."""
    if required_scope(scope["method"], scope["path"]) not in token.scopes:
        return False
    scope.setdefault("state", {})["admin_token"] = token
    return True


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

    def _client_id(self, route: Any, scope: Scope) -> str | None:
        """The path's client id when the route matches as FastAPI's router
        would match it, with a bearer token to check; sets what the router
        sets (`route`, `path_params`, `endpoint`) for the layers outside."""
        match, child_scope = route.matches(scope)
        if match != Match.FULL:
            return None
        scope.update(child_scope)
        client_id: str = child_scope["path_params"]["client_id"]
        if not validation.is_possible_client_id(client_id):
            return None
        return client_id

    async def _get_client(self, scope: Scope, receive: Receive, send: Send) -> bool:
        client_id = self._client_id(self._get, scope)
        bearer = bearer_token(scope)
        if client_id is None or bearer is None:
            return False
        runtime: Runtime = scope["app"].state.runtime
        try:
            found = await repository.token_and_document(
                runtime.database.reads, digest=token_digest(bearer), client_id=client_id
            )
        except Problem as problem:
            await problem.response()(scope, receive, send)
            return True
        # A refused token or an unknown client: the handler's own path says so.
        if found is None or found[1] is None or not _admitted(scope, found[0]):
            return False
        if_none_match = first_header(scope, b"if-none-match")
        response = clients.read_response(
            found[1], None if if_none_match is None else if_none_match.decode("latin-1")
        )
        await response(scope, receive, send)
        return True

    async def _authenticate_client(
        self, scope: Scope, receive: Receive, send: Send
    ) -> Receive | None:
        """None when answered; otherwise the channel to hand on, which
        replays the body if it was read."""
        if first_header(scope, b"content-type") != _JSON or _declared_length(scope) is None:
            return receive
        client_id = self._client_id(self._authenticate, scope)
        bearer = bearer_token(scope)
        if client_id is None or bearer is None:
            return receive
        runtime: Runtime = scope["app"].state.runtime
        try:
            # The token before the body: a refused caller's body is never read here.
            found = await repository.token_and_credentials(
                runtime.database.reads, digest=token_digest(bearer), client_id=client_id
            )
        except Problem as problem:
            await problem.response()(scope, receive, send)
            return None
        if found is None or not _admitted(scope, found[0]):
            return receive
        body = await _read_body(receive)
        if body is None:
            return None
        try:
            parsed = AuthenticateClient.model_validate(json.loads(body))
        except (ValueError, ValidationError):
            # FastAPI answers these (400, 422) with its own error details.
            return replay(body, receive)
        try:
            document = await lifecycle.check_credentials(
                runtime, found[1], secret=parsed.secret, method=parsed.method
            )
            response = clients.authenticated_response(document)
        except Problem as problem:
            response = problem.response()
        await response(scope, receive, send)
        return None
