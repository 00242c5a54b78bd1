"""Admin access: every /v1 request needs a bearer token with the call's scope.

A middleware rather than per-route dependencies: a route added under /v1
is guarded without anyone remembering to, and the check costs one indexed
lookup on the connection the request then uses."""

from sqlalchemy import Connection
from starlette.types import ASGIApp, Receive, Scope, Send

from client_registry import repository
from client_registry.problems import Forbidden, Problem, Unauthorized
from client_registry.tokens import SCOPE_AUTHENTICATE, SCOPE_READ, SCOPE_WRITE, token_digest

GUARDED_PREFIX = "/v1/"


def required_scope(method: str, path: str) -> str:
    """GET reads, the authenticate call authenticates, anything else writes."""
    if method in ("GET", "HEAD"):
        return SCOPE_READ
    if method == "POST" and path.endswith("/authenticate"):
        return SCOPE_AUTHENTICATE
    return SCOPE_WRITE


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if kind.lower() == "bearer" and token else None
    return None


class AdminAuth:
    """Checks the token, then hands the request the connection it checked on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(GUARDED_PREFIX):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        token = _bearer_token(scope)
        async with state.connection_slots:
            with state.engine.connect() as conn:
                refusal = _refusal(conn, token, required_scope(scope["method"], scope["path"]))
                if refusal is not None:
                    await refusal.response()(scope, receive, send)
                    return
                scope.setdefault("state", {})["connection"] = conn
                await self.app(scope, receive, send)


def _refusal(conn: Connection, token: str | None, scope_needed: str) -> Problem | None:
    if token is None:
        return Unauthorized("an admin bearer token is required")
    row = repository.find_active_token(conn, digest=token_digest(token))
    if row is None:
        return Unauthorized("the bearer token is not valid")
    if scope_needed not in row.scopes:
        return Forbidden(f"the token lacks the '{scope_needed}' scope")
    return None
