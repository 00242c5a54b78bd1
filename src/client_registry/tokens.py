"""Admin bearer tokens: random, prefixed for leak scanners, stored as digests."""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from client_registry import audit, repository
from client_registry.audit import COMMAND_LINE, Actor
from client_registry.database import Database
from client_registry.repository import Runner, TokenListing

TOKEN_PREFIX = "crat_"  # noqa: S105 - "client registry admin token", a public marker
SCOPE_READ = "clients:read"
SCOPE_WRITE = "clients:write"
SCOPE_AUTHENTICATE = "clients:authenticate"
SCOPE_AUDIT = "audit:read"
ALL_SCOPES = (SCOPE_READ, SCOPE_WRITE, SCOPE_AUTHENTICATE, SCOPE_AUDIT)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return "tok_" + secrets.token_hex(8)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _insert_token(tx: Runner, *, name: str, scopes: Sequence[str], actor: Actor) -> str:
    token, token_id, at = new_token(), new_token_id(), datetime.now(UTC)
    unique_scopes = list(dict.fromkeys(scopes))
    await repository.insert_token(
        tx,
        token_id=token_id,
        name=name,
        digest=token_digest(token),
        scopes=unique_scopes,
        created_at=at,
    )
    changes: list[dict[str, Any]] = [
        {"field": "tokenId", "before": None, "after": token_id},
        {"field": "tokenName", "before": None, "after": name},
        {"field": "scopes", "before": None, "after": unique_scopes},
    ]
    event = audit.event(audit.TOKEN_CREATED, actor, at=at, client_id=None, changes=changes)
    await repository.insert_audit_event(tx, values=event)
    return token


async def create_token(
    db: Database, *, name: str, scopes: Sequence[str], actor: Actor = COMMAND_LINE
) -> str:
    """Store a new token's digest and return the token, which is shown once."""
    async with db.transaction() as tx:
        return await _insert_token(tx, name=name, scopes=scopes, actor=actor)


async def bootstrap_token(db: Database) -> str | None:
    """A token with every scope when the database has never held one; of
    several processes starting at once, exactly one makes it."""
    async with db.transaction() as tx:
        await repository.lock_tokens(tx)
        if await repository.count_tokens(tx) > 0:
            return None
        return await _insert_token(tx, name="bootstrap", scopes=ALL_SCOPES, actor=COMMAND_LINE)


async def list_tokens(db: Database) -> list[TokenListing]:
    return await repository.list_tokens(db.scans)


async def revoke_token(db: Database, *, token_id: str, actor: Actor = COMMAND_LINE) -> bool:
    """False when no such token exists; revoking twice is harmless."""
    async with db.transaction() as tx:
        name = await repository.token_name(tx, token_id=token_id)
        if name is None:
            return False
        at = datetime.now(UTC)
        if await repository.revoke_token(tx, token_id=token_id, revoked_at=at):
            changes: list[dict[str, Any]] = [
                {"field": "tokenId", "before": token_id, "after": token_id},
                {"field": "tokenName", "before": name, "after": name},
                {
                    "field": "revokedAt",
                    "before": None,
                    "after": at.isoformat().replace("+00:00", "Z"),
                },
            ]
            event = audit.event(audit.TOKEN_REVOKED, actor, at=at, client_id=None, changes=changes)
            await repository.insert_audit_event(tx, values=event)
    return True
