"""Admin access: every /v1 request needs a bearer token with the call's scope.

A middleware rather than per-route dependencies: a route added under /v1
is guarded without anyone remembering to, and the check is one indexed
lookup on the hot-read path."""

from starlette.types import ASGIApp, Receive, Scope, Send

from client_registry import repository
from client_registry.database import Database
from client_registry.problems import Forbidden, Problem, Unauthorized
from client_registry.repository import AdminToken
from client_registry.request_headers import first_header
from client_registry.tokens import (
    SCOPE_AUDIT,
    SCOPE_AUTHENTICATE,
    SCOPE_READ,
    SCOPE_WRITE,
    token_digest,
)

GUARDED_PREFIX = "/v1/"
AUDIT_PREFIX = "/v1/audit-events"


def required_scope(method: str, path: str) -> str:
    """The audit trail needs its own scope; GET reads, the authenticate call
    authenticates, anything else writes."""
    if path == AUDIT_PREFIX or path.startswith(AUDIT_PREFIX + "/"):
        return SCOPE_AUDIT
    if method in ("GET", "HEAD"):
        return SCOPE_READ
    if method == "POST" and path.endswith("/authenticate"):
        return SCOPE_AUTHENTICATE
    return SCOPE_WRITE


def bearer_token(scope: Scope) -> str | None:
    authorization = first_header(scope, b"authorization")
    if authorization is None:
        return None
    kind, _, token = authorization.decode("latin-1").partition(" ")
    token = token.strip()
    return token if kind.lower() == "bearer" and token else None


class AdminAuth:
    """Answers 401 or 403 itself; a request with the scope goes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(GUARDED_PREFIX):
            database: Database = scope["app"].state.runtime.database
            needed = required_scope(scope["method"], scope["path"])
            try:
                token = await _admin_token(database, bearer_token(scope))
                # Who made the request, for the access log and the audit trail.
                scope.setdefault("state", {})["admin_token"] = token
                if needed not in token.scopes:
                    raise Forbidden(f"the token lacks the '{needed}' scope")
            except Problem as refusal:
                await refusal.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _admin_token(database: Database, bearer: str | None) -> AdminToken:
    if bearer is None:
        raise Unauthorized("an admin bearer token is required")
    token = await repository.active_token(database.reads, digest=token_digest(bearer))
    if token is None:
        raise Unauthorized("the bearer token is not valid")
    return token
