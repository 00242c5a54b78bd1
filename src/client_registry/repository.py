"""All SQL of the service. Functions add and change rows; they never commit."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)

from client_registry.tables import AdminTokenRow, ClientRow

clients: Table = ClientRow.__table__  # type: ignore[assignment]
admin_tokens: Table = AdminTokenRow.__table__  # type: ignore[assignment]
# A result row of any shape, read by column name.
Record = Row[*tuple[Any, ...]]

# Built once: building a statement costs more than running it. The last three
# are the hot reads, which hot_reads.py runs on the bare driver.
_CLIENT_BY_ID = select(clients).where(clients.c.id == bindparam("client_id"))
DOCUMENT_BY_ID = select(clients.c.document, clients.c.revision).where(
    clients.c.id == bindparam("client_id")
)
CREDENTIALS_BY_ID = select(
    clients.c.id,
    clients.c.auth_methods,
    clients.c.secret_hash,
    clients.c.secret_generated,
    clients.c.previous_secret_hash,
    clients.c.previous_secret_generated,
    clients.c.previous_secret_expires_at,
    clients.c.document,
).where(clients.c.id == bindparam("client_id"))
ACTIVE_TOKEN = select(admin_tokens.c.scopes, admin_tokens.c.id, admin_tokens.c.name).where(
    admin_tokens.c.digest == bindparam("digest"), admin_tokens.c.revoked_at.is_(None)
)


def get_client(conn: Connection, *, client_id: str) -> Record | None:
    return conn.execute(_CLIENT_BY_ID, {"client_id": client_id}).one_or_none()


def insert_client(conn: Connection, *, values: dict[str, Any]) -> None:
    """Raises IntegrityError when the id is taken."""
    conn.execute(insert(clients).values(**values))


def update_client(
    conn: Connection, *, client_id: str, revision: str, values: dict[str, Any]
) -> bool:
    """Compare-and-set on the revision; False when another writer came first."""
    result = conn.execute(
        update(clients)
        .where(clients.c.id == client_id, clients.c.revision == revision)
        .values(**values)
    )
    return result.rowcount == 1


def delete_client(conn: Connection, *, client_id: str, revision: str | None) -> bool:
    statement = delete(clients).where(clients.c.id == client_id)
    if revision is not None:
        statement = statement.where(clients.c.revision == revision)
    return conn.execute(statement).rowcount == 1


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _array_contains(column: Any, item: str) -> Any:
    # Grant types and scope tokens hold no quote or backslash, so an item's
    # JSON form is the item between quotes on every engine.
    return cast(column, Text).like(f'%"{_like_escape(item)}"%', escape="\\")


def list_clients(
    conn: Connection,
    *,
    after_seq: int,
    limit: int,
    name: str | None = None,
    grant_type: str | None = None,
    scope: str | None = None,
    first_party: bool | None = None,
) -> Sequence[Record]:
    """Serialized clients in creation order after a keyset position."""
    statement = select(clients.c.seq, clients.c.document).where(clients.c.seq > after_seq)
    if name is not None:
        pattern = f"%{_like_escape(name.casefold())}%"
        statement = statement.where(clients.c.name_folded.like(pattern, escape="\\"))
    if grant_type is not None:
        statement = statement.where(_array_contains(clients.c.grant_types, grant_type))
    if scope is not None:
        statement = statement.where(_array_contains(clients.c.scopes, scope))
    if first_party is not None:
        statement = statement.where(clients.c.first_party == first_party)
    return conn.execute(statement.order_by(clients.c.seq).limit(limit)).all()


def insert_token(
    conn: Connection,
    *,
    token_id: str,
    name: str,
    digest: str,
    scopes: list[str],
    created_at: datetime,
) -> None:
    conn.execute(
        insert(admin_tokens).values(
            id=token_id, name=name, digest=digest, scopes=scopes, created_at=created_at
        )
    )


def list_tokens(conn: Connection) -> Sequence[Record]:
    return conn.execute(
        select(
            admin_tokens.c.id,
            admin_tokens.c.name,
            admin_tokens.c.scopes,
            admin_tokens.c.created_at,
            admin_tokens.c.revoked_at,
        ).order_by(admin_tokens.c.created_at, admin_tokens.c.id)
    ).all()


def revoke_token(conn: Connection, *, token_id: str, revoked_at: datetime) -> bool:
    result = conn.execute(
        update(admin_tokens)
        .where(admin_tokens.c.id == token_id, admin_tokens.c.revoked_at.is_(None))
        .values(revoked_at=revoked_at)
    )
    return result.rowcount == 1


def token_exists(conn: Connection, *, token_id: str) -> bool:
    found = conn.execute(select(admin_tokens.c.id).where(admin_tokens.c.id == token_id))
    return found.first() is not None


def count_tokens(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(admin_tokens)).scalar_one()


def replace_secret_hash(
    conn: Connection, *, client_id: str, previous: bool, old_hash: str, new_hash: str
) -> None:
    """Swap one stored hash for another of the same secret (an upgrade); a
    no-op when a rotation replaced the hash in between."""
    column = clients.c.previous_secret_hash if previous else clients.c.secret_hash
    conn.execute(
        update(clients)
        .where(clients.c.id == client_id, column == old_hash)
        .values({column: new_hash})
    )


def drop_previous_secret(conn: Connection, *, client_id: str, old_hash: str) -> None:
    """Forget an expired previous secret; its expiry time stays on show."""
    conn.execute(
        update(clients)
        .where(clients.c.id == client_id, clients.c.previous_secret_hash == old_hash)
        .values(previous_secret_hash=None, previous_secret_generated=None)
    )
