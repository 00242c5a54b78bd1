"""The secret lifecycle: rotation with a grace period, and authentication."""

import logging
from datetime import timedelta
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from client_registry import repository
from client_registry.hot_reads import Credentials
from client_registry.problems import InvalidClient
from client_registry.repository import Record
from client_registry.runtime import Runtime
from client_registry.schemas import RotateSecret
from client_registry.secrets import SecretHasher, generate_secret
from client_registry.service import Clock, write_client

logger = logging.getLogger(__name__)
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


class _Verdict(NamedTuple):
    passed: bool
    drop_previous: bool  # the previous secret has expired: forget its hash
    upgrade: tuple[str, str] | None = None  # (stored hash, its stronger hash)


async def authenticate_client(runtime: Runtime, *, client_id: str, secret: str, method: str) -> str:
    """The client's document when the secret is its current one or an
    unexpired previous one and the method is allowed; otherwise the same 401
    for every cause.

    Generated secrets verify in microseconds, on the event loop; a given
    secret's password-grade hash takes long enough to need a thread."""
    hasher = runtime.hasher
    row = await runtime.hot_reads.credentials(client_id)
    if row is None:
        hasher.verify_dummy(secret)  # an unknown client costs what a wrong secret does
        raise InvalidClient(_FAILED)
    check = partial(_check, row, secret, method, hasher=hasher, now=runtime.clock)
    if row.secret_generated and row.previous_secret_generated is not False:
        verdict = check()
    else:
        verdict = await run_in_threadpool(check)
    if verdict.drop_previous or verdict.upgrade:
        await _keep_hashes_current(runtime, row, verdict)
    if not verdict.passed:
        raise InvalidClient(_FAILED)
    return row.document


def _check(
    row: Credentials, secret: str, method: str, *, hasher: SecretHasher, now: Clock
) -> _Verdict:
    previous_hash = row.previous_secret_hash
    expires_at = row.previous_secret_expires_at
    expired = previous_hash is not None and (expires_at is None or expires_at <= now())
    if hasher.verify(secret, row.secret_hash):
        stored_hash, generated = row.secret_hash, row.secret_generated
    elif previous_hash is not None and not expired and hasher.verify(secret, previous_hash):
        stored_hash, generated = previous_hash, bool(row.previous_secret_generated)
    else:
        return _Verdict(passed=False, drop_previous=expired)
    # A public client ("none") has no secret to check; it never passes here.
    if method not in row.auth_methods or "none" in row.auth_methods:
        return _Verdict(passed=False, drop_previous=expired)
    upgrade = None
    if hasher.needs_update(stored_hash, generated=generated):
        upgrade = (stored_hash, hasher.hash(secret, generated=generated))
    return _Verdict(passed=True, drop_previous=expired, upgrade=upgrade)


async def _keep_hashes_current(runtime: Runtime, row: Credentials, verdict: _Verdict) -> None:
    """Upkeep, not the answer: when the database refuses the write (a
    read-only replica, a lock), the caller still gets its verdict."""
    try:
        async with runtime.connection(writes=True) as conn:
            await run_in_threadpool(_store_hashes, conn, row, verdict)
    except SQLAlchemyError as error:
        logger.warning("could not update the stored secret hashes: %s", type(error).__name__)


def _store_hashes(conn: Connection, row: Credentials, verdict: _Verdict) -> None:
    """Forget an expired previous secret and store a stronger hash of the one
    that matched."""
    if verdict.drop_previous and row.previous_secret_hash is not None:
        repository.drop_previous_secret(conn, client_id=row.id, old_hash=row.previous_secret_hash)
    if verdict.upgrade is not None:
        old_hash, new_hash = verdict.upgrade
        repository.replace_secret_hash(
            conn,
            client_id=row.id,
            previous=old_hash == row.previous_secret_hash,
            old_hash=old_hash,
            new_hash=new_hash,
        )
    conn.commit()
