"""The secret lifecycle: rotation with a grace period, and authentication."""

import logging
from datetime import timedelta
from typing import Any, NamedTuple

from client_registry import audit, repository, validation
from client_registry.audit import Actor
from client_registry.metrics import HASH_UPGRADES
from client_registry.problems import InvalidClient, Unavailable
from client_registry.repository import ClientRecord, Credentials, Document
from client_registry.runtime import Runtime
from client_registry.schemas import RotateSecret
from client_registry.secrets import SecretHasher, generate_secret
from client_registry.service import Clock, write_client

logger = logging.getLogger(__name__)
# One answer for every failure, so a caller learns nothing about which it was.
_FAILED = "client authentication failed"


async def rotate_secret(
    runtime: Runtime,
    *,
    client_id: str,
    request: RotateSecret,
    if_match: str | None,
    actor: Actor,
) -> tuple[Document, str]:
    """A new current secret; the old one stays valid for the grace period.

    At most two secrets are valid: the one before the old is dropped."""
    generated = request.secret is None
    secret = (
        generate_secret(runtime.settings.secret_prefix)
        if request.secret is None
        else request.secret
    )
    # Hashed before the transaction: a password-grade hash holds no lock.
    secret_hash = await runtime.hasher.hash_off_loop(secret, generated=generated)
    grace = request.grace_period_seconds
    now = runtime.clock

    def rotate(row: ClientRecord) -> dict[str, Any]:
        at = now()
        return {
            "secret_hash": secret_hash,
            "secret_generated": generated,
            "secret_created_at": at,
            "previous_secret_hash": row.secret_hash if grace else None,
            "previous_secret_generated": row.secret_generated if grace else None,
            "previous_secret_expires_at": at + timedelta(seconds=grace) if grace else None,
        }

    document = await write_client(
        runtime.database,
        client_id=client_id,
        if_match=if_match,
        change=rotate,
        now=now,
        action=audit.CLIENT_SECRET_ROTATED,
        actor=actor,
    )
    return document, secret


class _Verdict(NamedTuple):
    passed: bool
    drop_previous: bool  # the previous secret has expired: forget its hash
    upgrade: tuple[str, str] | None = None  # (stored hash, its stronger hash)


async def authenticate_client(runtime: Runtime, *, client_id: str, secret: str, method: str) -> str:
    """The client's document when the secret is its current one or an
    unexpired previous one and the method is allowed; otherwise the same 401
    for every cause.

    Generated secrets verify in microseconds, on the event loop; a given
    secret's password-grade hash runs on the hashing threads, with no
    connection held."""
    row = None
    if validation.is_possible_client_id(client_id):
        row = await repository.credentials(runtime.database.reads, client_id=client_id)
    return await check_credentials(runtime, row, secret=secret, method=method)


async def check_credentials(
    runtime: Runtime, row: Credentials | None, *, secret: str, method: str
) -> str:
    """authenticate_client once the client's credentials are read (None:
    no such client)."""
    hasher = runtime.hasher
    if row is None:
        hasher.verify_dummy(secret)  # an unknown client costs what a wrong secret does
        raise InvalidClient(_FAILED)
    if row.secret_generated and row.previous_secret_generated is not False:
        verdict = _check(row, secret, method, hasher, runtime.clock)
    else:
        verdict = await hasher.offload(_check, row, secret, method, hasher, runtime.clock)
    if verdict.drop_previous or verdict.upgrade:
        await _keep_hashes_current(runtime, row, verdict)
    if not verdict.passed:
        raise InvalidClient(_FAILED)
    return row.document


def _check(
    row: Credentials, secret: str, method: str, hasher: SecretHasher, now: Clock
) -> _Verdict:
    previous_hash = row.previous_secret_hash
    expires_at = row.previous_secret_expires_at
    expired = previous_hash is not None and (expires_at is None or expires_at <= now())
    previous_generated = bool(row.previous_secret_generated)
    if hasher.verify(secret, row.secret_hash, generated=row.secret_generated):
        stored_hash, generated = row.secret_hash, row.secret_generated
    elif (
        previous_hash is not None
        and not expired
        and hasher.verify(secret, previous_hash, generated=previous_generated)
    ):
        stored_hash, generated = previous_hash, previous_generated
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
    """Forget an expired previous secret and store a stronger hash of the one
    that matched. Upkeep, not the answer: when the database refuses the
    write (a read-only replica, a lock), the caller still gets its verdict."""
    upgraded = False
    try:
        async with runtime.database.transaction() as tx:
            if verdict.drop_previous and row.previous_secret_hash is not None:
                await repository.drop_previous_secret(
                    tx, client_id=row.id, old_hash=row.previous_secret_hash
                )
            if verdict.upgrade is not None:
                old_hash, new_hash = verdict.upgrade
                upgraded = await repository.replace_secret_hash(
                    tx,
                    client_id=row.id,
                    previous=old_hash == row.previous_secret_hash,
                    old_hash=old_hash,
                    new_hash=new_hash,
                )
    except Unavailable:
        # The database layer has logged the failure once for its kind.
        logger.debug("stored secret hashes left as they were: the database refused")
        return
    if upgraded:  # counted once committed: a refused upgrade is tried again
        HASH_UPGRADES.inc()
