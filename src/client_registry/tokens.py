"""Admin bearer tokens: random, prefixed for leak scanners, stored as digests."""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection

from client_registry import repository

TOKEN_PREFIX = "crat_"  # noqa: S105 - "client registry admin token", a public marker
SCOPE_READ = "clients:read"
SCOPE_WRITE = "clients:write"
SCOPE_AUTHENTICATE = "clients:authenticate"
ALL_SCOPES = (SCOPE_READ, SCOPE_WRITE, SCOPE_AUTHENTICATE)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return "tok_" + secrets.token_hex(8)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(conn: Connection, *, name: str, scopes: Sequence[str]) -> str:
    """Store a new token's digest and return the token, which is shown once."""
    token = new_token()
    repository.insert_token(
        conn,
        token_id=new_token_id(),
        name=name,
        digest=token_digest(token),
        scopes=list(dict.fromkeys(scopes)),
        created_at=datetime.now(UTC),
    )
    conn.commit()
    return token


def bootstrap_token(conn: Connection) -> str | None:
    """A token with every scope when the database has never held one."""
    if repository.count_tokens(conn) > 0:
        return None
    return create_token(conn, name="bootstrap", scopes=ALL_SCOPES)


def revoke_token(conn: Connection, *, token_id: str) -> bool:
    """False when no such token exists; revoking twice is harmless."""
    if not repository.token_exists(conn, token_id=token_id):
        return False
    repository.revoke_token(conn, token_id=token_id, revoked_at=datetime.now(UTC))
    conn.commit()
    return True
