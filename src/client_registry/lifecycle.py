"""The secret lifecycle: rotation with a grace period, and authentication."""

from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from client_registry import repository
from client_registry.problems import InvalidClient
from client_registry.repository import Record
from client_registry.schemas import RotateSecret
from client_registry.secrets import SecretHasher, generate_secret
from client_registry.service import Clock, write_client

# One answer for every failure, so a caller learns nothing about which it was.
_FAILED = "client authentication failed"


def rotate_secret(
    conn: Connection,
    *,
    client_id: str,
    request: RotateSecret,
    if_match: str | None,
    hasher: SecretHasher,
    secret_prefix: str,
    now: Clock,
) -> tuple[Record, str]:
    """A new current secret; the old one stays valid for the grace period.

    At most two secrets are valid: the one before the old is dropped."""
    generated = request.secret is None
    secret = generate_secret(secret_prefix) if request.secret is None else request.secret
    secret_hash = hasher.hash(secret, generated=generated)
    grace = request.grace_period_seconds

    def rotate(row: Record) -> dict[str, Any]:
        at = now()
        return {
            "secret_hash": secret_hash,
            "secret_generated": generated,
            "secret_created_at": at,
            "previous_secret_hash": row.secret_hash if grace else None,
            "previous_secret_generated": row.secret_generated if grace else None,
            "previous_secret_expires_at": at + timedelta(seconds=grace) if grace else None,
        }

    row = write_client(conn, client_id=client_id, if_match=if_match, change=rotate, now=now)
    return row, secret


async def authenticate_client(
    conn: Connection,
    *,
    client_id: str,
    secret: str,
    method: str,
    hasher: SecretHasher,
    now: Clock,
) -> Record:
    """The client when the secret is its current one or an unexpired previous
    one and the method is allowed; otherwise the same 401 for every cause.

    Generated secrets verify in microseconds, on the event loop; a given
    secret's password-grade hash takes long enough to need a thread."""
    row = repository.get_credentials(conn, client_id=client_id)
    if row is None:
        hasher.verify_dummy(secret)  # an unknown client costs what a wrong secret does
        raise InvalidClient(_FAILED)
    check = partial(_check, conn, row, secret, method, hasher=hasher, now=now)
    if row.secret_generated and row.previous_secret_generated is not False:
        return check()
    return await run_in_threadpool(check)


def _check(
    conn: Connection, row: Record, secret: str, method: str, *, hasher: SecretHasher, now: Clock
) -> Record:
    matched = _matching_hash(conn, row, secret, hasher=hasher, now=now)
    # A public client ("none") has no secret to check; it never passes here.
    allowed = method in row.auth_methods and "none" not in row.auth_methods
    if matched is None or not allowed:
        conn.commit()  # keeps the clean-up of an expired previous secret
        raise InvalidClient(_FAILED)
    previous = matched == "previous"
    stored_hash = row.previous_secret_hash if previous else row.secret_hash
    generated = row.previous_secret_generated if previous else row.secret_generated
    if hasher.needs_update(stored_hash, generated=bool(generated)):
        repository.replace_secret_hash(
            conn,
            client_id=row.id,
            previous=previous,
            old_hash=stored_hash,
            new_hash=hasher.hash(secret, generated=bool(generated)),
        )
    conn.commit()
    return row


def _matching_hash(
    conn: Connection, row: Record, secret: str, *, hasher: SecretHasher, now: Clock
) -> str | None:
    """Which stored secret matches: "current", "previous" or None."""
    if hasher.verify(secret, row.secret_hash):
        return "current"
    if row.previous_secret_hash is None:
        return None
    if row.previous_secret_expires_at is None or row.previous_secret_expires_at <= now():
        repository.drop_previous_secret(conn, client_id=row.id, old_hash=row.previous_secret_hash)
        return None
    return "previous" if hasher.verify(secret, row.previous_secret_hash) else None
