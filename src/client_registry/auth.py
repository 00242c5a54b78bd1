"""Admin access: every /v1 request needs a bearer token with the call's scope.

A middleware rather than per-route dependencies: a route added under /v1
is guarded without anyone remembering to, and the check is one indexed
lookup on the hot-read path."""

from starlette.types import ASGIApp, Receive, Scope, Send

from client_registry.hot_reads import HotReads
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
    """Answers 401 or 403 itself; a request with the scope goes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(GUARDED_PREFIX):
            reads: HotReads = scope["app"].state.runtime.hot_reads
            needed = required_scope(scope["method"], scope["path"])
            refusal = await _refusal(scope, reads, _bearer_token(scope), needed)
            if refusal is not None:
                await refusal.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _refusal(
    scope: Scope, reads: HotReads, token: str | None, scope_needed: str
) -> Problem | None:
    if token is None:
        return Unauthorized("an admin bearer token is required")
    found = await reads.admin_token(token_digest(token))
    if found is None:
        return Unauthorized("the bearer token is not valid")
    # Who calls, for the access line: the token's id and name, never the token.
    scope.setdefault("state", {})["admin_token"] = found
    if scope_needed not in found.scopes:
        return Forbidden(f"the token lacks the '{scope_needed}' scope")
    return None
