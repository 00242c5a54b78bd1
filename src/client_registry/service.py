"""Use-cases of the registry. Each write runs in one transaction, opened here."""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from client_registry import audit, repository, validation
from client_registry.audit import Actor
from client_registry.database import Database
from client_registry.etags import if_match_passes
from client_registry.pagination import decode_cursor, encode_cursor
from client_registry.problems import (
    Conflict,
    NotFound,
    PreconditionFailed,
    invalid_client_fields,
    pydantic_problem,
)
from client_registry.repository import (
    AuditEvent,
    AuditFilters,
    ClientRecord,
    Document,
    ListedClient,
    ListFilters,
    Runner,
)
from client_registry.schemas import (
    ClientCreate,
    ClientMetadata,
    ClientPatch,
    ClientReplace,
    client_document,
)
from client_registry.secrets import SecretHasher, generate_secret

Clock = Callable[[], datetime]
WRITABLE_FIELDS = tuple(ClientMetadata.model_fields)


def new_revision() -> str:
    return uuid.uuid4().hex


def check_redirect_required(data: ClientMetadata) -> None:
    if validation.missing_redirect(redirect=data.redirect, grant_types=data.grant_types):
        message = "must not be empty when grantTypes has authorization_code or implicit"
        raise invalid_client_fields([("redirect", message)])


def metadata_values(data: ClientMetadata) -> dict[str, Any]:
    values = {field: getattr(data, field) for field in WRITABLE_FIELDS}
    values["name_folded"] = data.name.casefold()
    return values


def _not_found(client_id: str) -> NotFound:
    if not validation.is_possible_client_id(client_id):
        return NotFound("no client with this id")  # the id is not echoed: it may not be text
    return NotFound(f"no client with id '{client_id}'")


def _stale() -> PreconditionFailed:
    return PreconditionFailed("the client has changed since the given ETag")


async def _locked_client(tx: Runner, client_id: str, if_match: str | None) -> ClientRecord:
    """The client, locked for this transaction, if the If-Match holds."""
    if not validation.is_possible_client_id(client_id):
        raise _not_found(client_id)
    row = await repository.get_client(tx, client_id=client_id, for_update=True)
    if row is None:
        raise _not_found(client_id)
    if not if_match_passes(if_match, row.revision):
        raise _stale()
    return row


def _check_path_id(data: ClientReplace | ClientPatch, client_id: str) -> None:
    if data.id is not None and data.id != client_id:
        raise invalid_client_fields([("id", "must equal the id in the path; ids cannot change")])


async def get_client(db: Database, *, client_id: str) -> Document:
    if not validation.is_possible_client_id(client_id):
        raise _not_found(client_id)
    found = await repository.document(db.reads, client_id=client_id)
    if found is None:
        raise _not_found(client_id)
    return found


async def create_client(
    db: Database,
    *,
    data: ClientCreate,
    hasher: SecretHasher,
    secret_prefix: str,
    now: Clock,
    actor: Actor,
) -> tuple[Document, str]:
    """Store a new client; returns it with its plaintext secret."""
    check_redirect_required(data)
    generated = data.secret is None
    secret = generate_secret(secret_prefix) if data.secret is None else data.secret
    # Hashed before the transaction: a password-grade hash holds no lock.
    secret_hash = await hasher.hash_off_loop(secret, generated=generated)
    client_id = data.id if data.id is not None else str(uuid.uuid4())
    at = now()
    values = {
        "id": client_id,
        **metadata_values(data),
        "secret_hash": secret_hash,
        "secret_generated": generated,
        "secret_created_at": at,
        "previous_secret_hash": None,
        "previous_secret_generated": None,
        "previous_secret_expires_at": None,
        "created_at": at,
        "updated_at": at,
        "revision": new_revision(),
    }
    values["document"] = client_document(values)
    async with db.transaction() as tx:
        await repository.lock_creation(tx)
        if not await repository.insert_client(tx, values=values):
            raise Conflict(f"a client with id '{client_id}' exists")
        changes = audit.client_changes(None, values["document"], secret_changed=True)
        await _record(tx, audit.CLIENT_CREATED, actor, at, client_id, changes)
    return Document(values["document"], values["revision"]), secret


async def _record(
    tx: Runner,
    action: str,
    actor: Actor,
    at: datetime,
    client_id: str | None,
    changes: list[dict[str, Any]],
) -> None:
    """The audit event of a change, in the change's own transaction."""
    event = audit.event(action, actor, at=at, client_id=client_id, changes=changes)
    await repository.insert_audit_event(tx, values=event)


async def write_client(
    db: Database,
    *,
    client_id: str,
    if_match: str | None,
    change: Callable[[ClientRecord], dict[str, Any]],
    now: Clock,
    action: str,
    actor: Actor,
) -> Document:
    """Change one client under its lock: writers without If-Match wait their
    turn, and one with a stale If-Match gets 412.

    `change` maps the stored row to the columns to set; every write also
    moves updatedAt and the revision (the ETag)."""
    async with db.transaction() as tx:
        row = await _locked_client(tx, client_id, if_match)
        at = now()
        values = {**row._asdict(), **change(row), "updated_at": at, "revision": new_revision()}
        values["document"] = client_document(values)
        await repository.update_client(tx, client_id=client_id, values=values)
        secret_changed = values["secret_hash"] != row.secret_hash
        changes = audit.client_changes(
            row.document, values["document"], secret_changed=secret_changed
        )
        await _record(tx, action, actor, at, client_id, changes)
    return Document(values["document"], values["revision"])


async def replace_client(
    db: Database,
    *,
    client_id: str,
    data: ClientReplace,
    if_match: str | None,
    now: Clock,
    actor: Actor,
) -> Document:
    _check_path_id(data, client_id)
    check_redirect_required(data)
    values = metadata_values(data)
    return await write_client(
        db,
        client_id=client_id,
        if_match=if_match,
        change=lambda _: values,
        now=now,
        action=audit.CLIENT_REPLACED,
        actor=actor,
    )


def _merged(row: ClientRecord, patch: ClientPatch) -> dict[str, Any]:
    """RFC 7396: sent fields replace stored ones, null returns a field to its default."""
    merged = {field: getattr(row, field) for field in WRITABLE_FIELDS}
    for field in patch.model_fields_set & set(WRITABLE_FIELDS):
        value = getattr(patch, field)
        if value is None:
            del merged[field]
        else:
            merged[field] = value
    try:
        data = ClientMetadata.model_validate(
            {ClientMetadata.model_fields[key].alias: value for key, value in merged.items()}
        )
    except ValidationError as error:
        raise pydantic_problem(error.errors(), client_body=True) from None
    check_redirect_required(data)
    return metadata_values(data)


async def patch_client(
    db: Database,
    *,
    client_id: str,
    patch: ClientPatch,
    if_match: str | None,
    now: Clock,
    actor: Actor,
) -> Document:
    _check_path_id(patch, client_id)
    return await write_client(
        db,
        client_id=client_id,
        if_match=if_match,
        change=lambda row: _merged(row, patch),
        now=now,
        action=audit.CLIENT_UPDATED,
        actor=actor,
    )


async def delete_client(
    db: Database, *, client_id: str, if_match: str | None, now: Clock, actor: Actor
) -> None:
    async with db.transaction() as tx:
        row = await _locked_client(tx, client_id, if_match)
        await repository.delete_client(tx, client_id=client_id)
        changes = audit.client_changes(row.document, None)
        await _record(tx, audit.CLIENT_DELETED, actor, now(), client_id, changes)


async def list_clients(
    db: Database, *, cursor: str | None, limit: int, filters: ListFilters
) -> tuple[list[ListedClient], str | None]:
    """One page in creation order and the cursor of the next, if any."""
    rows = await repository.list_clients(
        db.scans, after_seq=decode_cursor(cursor), limit=limit + 1, filters=filters
    )
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].seq)
    return rows, None


# The keyset of a walk newest first starts past the largest bigint.
_NEWEST = 2**63 - 1


async def list_audit_events(
    db: Database, *, cursor: str | None, limit: int, filters: AuditFilters
) -> tuple[list[AuditEvent], str | None]:
    """One page of audit events, newest first, and the cursor of the next."""
    if filters.client_id is not None and not validation.is_possible_client_id(filters.client_id):
        return [], None  # no client ever had this id
    before = decode_cursor(cursor) if cursor is not None else _NEWEST
    events = await repository.list_audit_events(
        db.scans, before_seq=before, limit=limit + 1, filters=filters
    )
    if len(events) > limit:
        return events[:limit], encode_cursor(events[limit - 1].seq)
    return events, None
