"""Admin bearer tokens: random, prefixed for leak scanners, stored as digests."""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from client_registry import repository
from client_registry.database import Database
from client_registry.repository import Runner, TokenListing

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


async def _insert_token(tx: Runner, *, name: str, scopes: Sequence[str]) -> str:
    token = new_token()
    await repository.insert_token(
        tx,
        token_id=new_token_id(),
        name=name,
        digest=token_digest(token),
        scopes=list(dict.fromkeys(scopes)),
        created_at=datetime.now(UTC),
    )
    return token


async def create_token(db: Database, *, name: str, scopes: Sequence[str]) -> str:
    """Store a new token's digest and return the token, which is shown once."""
    async with db.transaction() as tx:
        return await _insert_token(tx, name=name, scopes=scopes)


async def bootstrap_token(db: Database) -> str | None:
    """A token with every scope when the database has never held one; of
    several processes starting at once, exactly one makes it."""
    async with db.transaction() as tx:
        await repository.lock_tokens(tx)
        if await repository.count_tokens(tx) > 0:
            return None
        return await _insert_token(tx, name="bootstrap", scopes=ALL_SCOPES)


async def list_tokens(db: Database) -> list[TokenListing]:
    return await repository.list_tokens(db.scans)


async def revoke_token(db: Database, *, token_id: str) -> bool:
    """False when no such token exists; revoking twice is harmless."""
    async with db.transaction() as tx:
        if not await repository.token_exists(tx, token_id=token_id):
            return False
        await repository.revoke_token(tx, token_id=token_id, revoked_at=datetime.now(UTC))
    return True
