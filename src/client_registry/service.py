"""Use-cases of the registry. Each write use-case commits in one place."""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from client_registry import repository, validation
from client_registry.etags import if_match_passes
from client_registry.hot_reads import Document, HotReads
from client_registry.pagination import decode_cursor, encode_cursor
from client_registry.problems import (
    Conflict,
    NotFound,
    PreconditionFailed,
    invalid_client_fields,
    pydantic_problem,
)
from client_registry.repository import Record
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
# Lost compare-and-set races retried before a write gives up with 409.
WRITE_ATTEMPTS = 3


def _new_revision() -> str:
    return uuid.uuid4().hex


def _check_redirect_required(data: ClientMetadata) -> None:
    if validation.missing_redirect(redirect=data.redirect, grant_types=data.grant_types):
        message = "must not be empty when grantTypes has authorization_code or implicit"
        raise invalid_client_fields([("redirect", message)])


def _metadata_values(data: ClientMetadata) -> dict[str, Any]:
    values = {field: getattr(data, field) for field in WRITABLE_FIELDS}
    values["name_folded"] = data.name.casefold()
    return values


def _not_found(client_id: str) -> NotFound:
    return NotFound(f"no client with id '{client_id}'")


def existing_client(conn: Connection, client_id: str) -> Record:
    row = repository.get_client(conn, client_id=client_id)
    if row is None:
        raise _not_found(client_id)
    return row


def _check_path_id(data: ClientReplace | ClientPatch, client_id: str) -> None:
    if data.id is not None and data.id != client_id:
        raise invalid_client_fields([("id", "must equal the id in the path; ids cannot change")])


async def get_client(reads: HotReads, *, client_id: str) -> Document:
    found = await reads.document(client_id)
    if found is None:
        raise _not_found(client_id)
    return found


def create_client(
    conn: Connection,
    *,
    data: ClientCreate,
    hasher: SecretHasher,
    secret_prefix: str,
    now: Clock,
) -> tuple[Record, str]:
    """Store a new client; returns it with its plaintext secret."""
    _check_redirect_required(data)
    secret = data.secret if data.secret is not None else generate_secret(secret_prefix)
    secret_hash = hasher.hash(secret, generated=data.secret is None)
    client_id = data.id if data.id is not None else str(uuid.uuid4())
    at = now()
    values = {
        "id": client_id,
        **_metadata_values(data),
        "secret_hash": secret_hash,
        "secret_generated": data.secret is None,
        "secret_created_at": at,
        "created_at": at,
        "updated_at": at,
        "revision": _new_revision(),
    }
    try:
        repository.insert_client(conn, values={**values, "document": client_document(values)})
    except IntegrityError:
        conn.rollback()
        raise Conflict(f"a client with id '{client_id}' exists") from None
    row = existing_client(conn, client_id)
    conn.commit()
    return row, secret


def write_client(
    conn: Connection,
    *,
    client_id: str,
    if_match: str | None,
    change: Callable[[Record], dict[str, Any]],
    now: Clock,
) -> Record:
    """Read, change and compare-and-set one client, retrying lost races.

    `change` maps the stored row to the columns to set; every write also
    moves updatedAt and the revision (the ETag)."""
    for _ in range(WRITE_ATTEMPTS):
        row = existing_client(conn, client_id)
        if not if_match_passes(if_match, row.revision):
            raise PreconditionFailed("the client has changed since the given ETag")
        values = {**change(row), "updated_at": now(), "revision": _new_revision()}
        values["document"] = client_document({**row._mapping, **values})
        if repository.update_client(
            conn, client_id=client_id, revision=row.revision, values=values
        ):
            stored = existing_client(conn, client_id)
            conn.commit()
            return stored
        conn.rollback()
    raise Conflict("the client kept changing during the update; try again")


def replace_client(
    conn: Connection, *, client_id: str, data: ClientReplace, if_match: str | None, now: Clock
) -> Record:
    _check_path_id(data, client_id)
    _check_redirect_required(data)
    values = _metadata_values(data)
    return write_client(
        conn, client_id=client_id, if_match=if_match, change=lambda _: values, now=now
    )


def patch_client(
    conn: Connection, *, client_id: str, patch: ClientPatch, if_match: str | None, now: Clock
) -> Record:
    """RFC 7396: sent fields replace stored ones, null returns a field to its default."""
    _check_path_id(patch, client_id)

    def merge(row: Record) -> dict[str, Any]:
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
        _check_redirect_required(data)
        return _metadata_values(data)

    return write_client(conn, client_id=client_id, if_match=if_match, change=merge, now=now)


def delete_client(conn: Connection, *, client_id: str, if_match: str | None) -> None:
    row = existing_client(conn, client_id)
    if not if_match_passes(if_match, row.revision):
        raise PreconditionFailed("the client has changed since the given ETag")
    revision = row.revision if if_match is not None else None
    if not repository.delete_client(conn, client_id=client_id, revision=revision):
        conn.rollback()
        if if_match is not None:
            raise PreconditionFailed("the client has changed since the given ETag")
        raise _not_found(client_id)
    conn.commit()


def list_clients(
    conn: Connection,
    *,
    cursor: str | None,
    limit: int,
    name: str | None,
    grant_type: str | None,
    scope: str | None,
    first_party: bool | None,
) -> tuple[list[Record], str | None]:
    """One page in creation order and the cursor of the next, if any."""
    rows = list(
        repository.list_clients(
            conn,
            after_seq=decode_cursor(cursor),
            limit=limit + 1,
            name=name,
            grant_type=grant_type,
            scope=scope,
            first_party=first_party,
        )
    )
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].seq)
    return rows, None
