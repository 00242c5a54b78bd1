"""The admin bearer-token check, as FastAPI dependencies."""

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from client_registry import repository
from client_registry.dependencies import ConnectionDep
from client_registry.problems import Forbidden, Unauthorized
from client_registry.tokens import SCOPE_AUTHENTICATE, SCOPE_READ, SCOPE_WRITE, token_digest

_bearer = HTTPBearer(auto_error=False, description="An admin token (`crat_...`)")


def admin_scopes(
    conn: ConnectionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> frozenset[str]:
    """The scopes of the request's admin token; 401 without a valid one."""
    if credentials is None:
        raise Unauthorized("an admin bearer token is required")
    row = repository.find_active_token(conn, digest=token_digest(credentials.credentials))
    if row is None:
        raise Unauthorized("the bearer token is not valid")
    return frozenset(row.scopes)


def _require(scope: str) -> object:
    def check(scopes: Annotated[frozenset[str], Depends(admin_scopes)]) -> None:
        if scope not in scopes:
            raise Forbidden(f"the token lacks the '{scope}' scope")

    return Depends(check)


AdminRead = Annotated[None, _require(SCOPE_READ)]
AdminWrite = Annotated[None, _require(SCOPE_WRITE)]
AdminAuthenticate = Annotated[None, _require(SCOPE_AUTHENTICATE)]
