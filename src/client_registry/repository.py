"""All SQL of the service and the one decoding of its rows into records.

Statements are built with SQLAlchemy Core and compiled once per dialect to
the driver's own SQL; `database.py` runs them on the bare driver. Functions
here add and change rows; they never commit."""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    JSON,
    Select,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    func,
    null,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import ClauseElement

from client_registry.tables import AdminTokenRow, AuditEventRow, ClientRow

clients: Table = ClientRow.__table__  # type: ignore[assignment]
admin_tokens: Table = AdminTokenRow.__table__  # type: ignore[assignment]
audit_events: Table = AuditEventRow.__table__  # type: ignore[assignment]

Params = dict[str, Any]


class Runner(Protocol):
    """Where statements run: a read on its own, or a transaction."""

    sql: "Statements"

    async def fetch(self, sql: str, params: Params) -> Sequence[Sequence[Any]]: ...

    async def execute(self, sql: str, params: Params) -> int:
        """Runs a statement; returns the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, params: Sequence[Params]) -> int:
        """Runs a statement once per set of parameters, in one driver call;
        returns the number of rows changed in all."""
        ...


# Records: what the rest of the service sees of a row.


class ClientRecord(NamedTuple):
    """A stored client, every column in table order."""

    seq: int
    id: str
    name: str
    name_folded: str
    redirect: list[str]
    grant_types: list[str]
    response_types: list[str]
    response_modes: list[str]
    scopes: list[str]
    first_party: bool
    auth_methods: list[str]
    secret_hash: str
    secret_generated: bool
    secret_created_at: datetime
    previous_secret_hash: str | None
    previous_secret_generated: bool | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    document: str
    revision: str


class Document(NamedTuple):
    """What a read sends: the serialized client and its revision."""

    document: str
    revision: str


class Credentials(NamedTuple):
    """What authentication needs: the secrets, the allowed methods, the document."""

    id: str
    auth_methods: list[str]
    secret_hash: str
    secret_generated: bool
    previous_secret_hash: str | None
    previous_secret_generated: bool | None
    previous_secret_expires_at: datetime | None
    document: str


class ExportedClient(NamedTuple):
    """A client as an export writes it: its document and its secret hashes."""

    seq: int
    document: str
    secret_hash: str
    previous_secret_hash: str | None
    previous_secret_expires_at: datetime | None


class StoredDocument(NamedTuple):
    id: str
    document: str


class ListedClient(NamedTuple):
    seq: int
    document: str


class AdminToken(NamedTuple):
    id: str
    name: str
    scopes: list[str]


class AuditEvent(NamedTuple):
    seq: int
    id: str
    at: datetime
    action: str
    client_id: str | None
    actor: dict[str, str]
    request_id: str | None
    changes: list[dict[str, Any]]


class TokenListing(NamedTuple):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


# Decoding: both engines hand back JSON as text (PostgreSQL's connections
# are told to); PostgreSQL gives booleans and aware timestamps, SQLite
# integers and naive UTC text. Each column kind has one converter that
# takes either.


def _same(value: Any) -> Any:
    return value


def _json(value: Any) -> Any:
    return None if value is None else json.loads(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


def _converter(column_type: Any) -> Callable[[Any], Any]:
    name = type(column_type).__name__
    return {"JSON": _json, "Boolean": _bool, "UtcDateTime": _time}.get(name, _same)


class _Decoder:
    """Turns a row of the given columns into a record.

    With `remembered`, up to that many records are kept by their row, then
    forgotten all at once: the hot reads meet the same few rows again and
    again, and a record is a function of its row alone, so a kept one is
    never stale. Rows are tuples of plain values on both engines (JSON comes
    as text), so a row is its own key; records are shared, never changed."""

    def __init__(
        self, record: Callable[..., Any], columns: Sequence[Any], *, remembered: int = 0
    ) -> None:
        self._record = record
        self._converters = tuple(_converter(column.type) for column in columns)
        self._remembered = remembered
        self._known: dict[Sequence[Any], Any] = {}

    def __call__(self, row: Sequence[Any]) -> Any:
        if not self._remembered:
            return self._decode(row)
        record = self._known.get(row)
        if record is None:
            record = self._decode(row)
            if len(self._known) >= self._remembered:
                self._known.clear()
            self._known[row] = record
        return record

    def _decode(self, row: Sequence[Any]) -> Any:
        return self._record(*(convert(v) for convert, v in zip(self._converters, row, strict=True)))


def _columns(table: Table, names: Sequence[str]) -> list[Any]:
    return [table.c[name] for name in names]


_CLIENT_COLUMNS = _columns(clients, ClientRecord._fields)
_CREDENTIAL_COLUMNS = _columns(clients, Credentials._fields)
_TOKEN_COLUMNS = _columns(admin_tokens, AdminToken._fields)
_TOKEN_WIDTH = len(_TOKEN_COLUMNS)
_TOKEN_LISTING_COLUMNS = _columns(admin_tokens, TokenListing._fields)
_decode_client = _Decoder(ClientRecord, _CLIENT_COLUMNS)
# Every request reads a token; get and authenticate read these rows.
_HOT_ROWS = 10_000
_decode_credentials = _Decoder(Credentials, _CREDENTIAL_COLUMNS, remembered=_HOT_ROWS)
_decode_token = _Decoder(AdminToken, _TOKEN_COLUMNS, remembered=_HOT_ROWS)
_decode_token_listing = _Decoder(TokenListing, _TOKEN_LISTING_COLUMNS)
_EXPORT_COLUMNS = _columns(clients, ExportedClient._fields)
_decode_exported = _Decoder(ExportedClient, _EXPORT_COLUMNS)
_AUDIT_COLUMNS = _columns(audit_events, AuditEvent._fields)
_decode_audit_event = _Decoder(AuditEvent, _AUDIT_COLUMNS)

# Encoding: lists go as JSON text on both engines (PostgreSQL casts the
# untyped text to json); SQLite stores timestamps as SQLAlchemy does.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def _encode(value: Any, *, sqlite_times: bool) -> Any:
    kind = type(value)
    if kind is str or value is None:  # most values: no isinstance walk
        return value
    if isinstance(value, list | dict):
        return json.dumps(value)
    if sqlite_times and isinstance(value, datetime):
        return value.astimezone(UTC).strftime(_SQLITE_TIME)
    return value


# Advisory lock keys (PostgreSQL), one per kind of writer that takes turns.
CREATION_LOCK = 0x636C_7265_6700_0002
TOKENS_LOCK = 0x636C_7265_6700_0003

# Statements, built once.
_by_id = clients.c.id == bindparam("client_id")
_CLIENT_BY_ID = select(*_CLIENT_COLUMNS).where(_by_id)
_DOCUMENT_BY_ID = select(clients.c.document, clients.c.revision).where(_by_id)
_CREDENTIALS_BY_ID = select(*_CREDENTIAL_COLUMNS).where(_by_id)
_ACTIVE_TOKEN = select(*_TOKEN_COLUMNS).where(
    admin_tokens.c.digest == bindparam("digest"), admin_tokens.c.revoked_at.is_(None)
)
# The hot calls' two reads in one round trip: the active token of a digest,
# and beside it the client's columns (null when there is no such client).
_WITH_CLIENT = admin_tokens.outerjoin(clients, _by_id)
_TOKEN_AND_DOCUMENT = _ACTIVE_TOKEN.add_columns(clients.c.document, clients.c.revision)
_TOKEN_AND_CREDENTIALS = _ACTIVE_TOKEN.add_columns(*_CREDENTIAL_COLUMNS)
# Every column a write may set; the id and the creation sequence never change.
_WRITABLE = [c.name for c in clients.columns if c.name not in ("seq", "id")]
_INSERT_KEYS = ["id", *_WRITABLE]


_EXPORT_BATCH = (
    select(*_EXPORT_COLUMNS).where(clients.c.seq > bindparam("after_seq")).order_by(clients.c.seq)
)


def _documents_of_ids(engine: str) -> Select[Any]:
    """Stored documents of the ids in a JSON array: one query for a batch of
    ids, with the array sent the way every list is (JSON text)."""
    if engine == "sqlite":
        ids = func.json_each(bindparam("ids")).table_valued("value")
    else:
        ids = func.json_array_elements_text(cast(bindparam("ids"), JSON)).table_valued("value")
    return select(clients.c.id, clients.c.document).where(clients.c.id.in_(select(ids.c.value)))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _array_contains(column: Any, param: str) -> Any:
    return cast(column, Text).like(bindparam(param), escape="\\")


@dataclass(frozen=True)
class ListFilters:
    name: str | None = None
    grant_type: str | None = None
    scope: str | None = None
    first_party: bool | None = None

    def params(self) -> Params:
        # Grant types and scope tokens hold no quote or backslash, so an
        # item's JSON form is the item between quotes on every engine.
        params: Params = {}
        if self.name is not None:
            params["name_pattern"] = f"%{_like_escape(self.name.casefold())}%"
        if self.grant_type is not None:
            params["grant_pattern"] = f'%"{_like_escape(self.grant_type)}"%'
        if self.scope is not None:
            params["scope_pattern"] = f'%"{_like_escape(self.scope)}"%'
        if self.first_party is not None:
            params["first_party"] = self.first_party
        return params


def _list_statement(filters: frozenset[str]) -> Select[Any]:
    statement = select(clients.c.seq, clients.c.document).where(
        clients.c.seq > bindparam("after_seq")
    )
    if "name_pattern" in filters:
        statement = statement.where(clients.c.name_folded.like(bindparam("name_pattern"), "\\"))
    if "grant_pattern" in filters:
        statement = statement.where(_array_contains(clients.c.grant_types, "grant_pattern"))
    if "scope_pattern" in filters:
        statement = statement.where(_array_contains(clients.c.scopes, "scope_pattern"))
    if "first_party" in filters:
        statement = statement.where(clients.c.first_party == bindparam("first_party"))
    return statement.order_by(clients.c.seq)


@dataclass(frozen=True)
class AuditFilters:
    client_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def params(self) -> Params:
        names = ("client_id", "action", "since", "until")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


def _audit_statement(filters: frozenset[str]) -> Select[Any]:
    statement = select(*_AUDIT_COLUMNS).where(audit_events.c.seq < bindparam("before_seq"))
    if "client_id" in filters:
        statement = statement.where(audit_events.c.client_id == bindparam("client_id"))
    if "action" in filters:
        statement = statement.where(audit_events.c.action == bindparam("action"))
    if "since" in filters:
        statement = statement.where(audit_events.c.at >= bindparam("since"))
    if "until" in filters:
        statement = statement.where(audit_events.c.at < bindparam("until"))
    return statement.order_by(audit_events.c.seq.desc())


def _dialect(name: str) -> Dialect:
    if name == "sqlite":
        return sqlite.pysqlite.SQLiteDialect_pysqlite(paramstyle="named")
    return postgresql.psycopg.PGDialect_psycopg()  # type: ignore[no-untyped-call]


@dataclass
class Statements:
    """Every statement compiled for one engine, and its value encoding."""

    engine: str
    _dialect: Dialect = field(init=False, repr=False)
    _lists: dict[tuple[str, frozenset[str]], str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._dialect = _dialect(self.engine)
        insert = sqlite.insert if self.engine == "sqlite" else postgresql.insert
        self.client_by_id = self.compile(_CLIENT_BY_ID)
        self.client_for_update = self.compile(_CLIENT_BY_ID.with_for_update())
        self.document_by_id = self.compile(_DOCUMENT_BY_ID)
        self.credentials_by_id = self.compile(_CREDENTIALS_BY_ID)
        self.active_token = self.compile(_ACTIVE_TOKEN)
        self.token_and_document = self.compile(_TOKEN_AND_DOCUMENT.select_from(_WITH_CLIENT))
        self.token_and_credentials = self.compile(_TOKEN_AND_CREDENTIALS.select_from(_WITH_CLIENT))
        self.insert_client = self.compile(
            insert(clients).on_conflict_do_nothing(index_elements=[clients.c.id]),
            column_keys=_INSERT_KEYS,
        )
        self.update_client = self.compile(update(clients).where(_by_id), column_keys=_WRITABLE)
        self.documents_of_ids = self.compile(_documents_of_ids(self.engine))
        self.export_batch = self.compile(_EXPORT_BATCH) + f" LIMIT {self._limit}"
        self.delete_client = self.compile(delete(clients).where(_by_id))
        old_hash: Any = bindparam("old_hash")
        self.drop_previous_secret = self.compile(
            update(clients)
            .where(_by_id, clients.c.previous_secret_hash == old_hash)
            .values(previous_secret_hash=null(), previous_secret_generated=null())
        )
        self.replace_current_hash = self.compile(
            update(clients)
            .where(_by_id, clients.c.secret_hash == old_hash)
            .values(secret_hash=bindparam("new_hash"))
        )
        self.replace_previous_hash = self.compile(
            update(clients)
            .where(_by_id, clients.c.previous_secret_hash == old_hash)
            .values(previous_secret_hash=bindparam("new_hash"))
        )
        self.insert_token = self.compile(
            insert(admin_tokens), column_keys=[c.name for c in admin_tokens.columns]
        )
        self.list_tokens = self.compile(
            select(*_TOKEN_LISTING_COLUMNS).order_by(admin_tokens.c.created_at, admin_tokens.c.id)
        )
        self.token_name = self.compile(
            select(admin_tokens.c.name).where(admin_tokens.c.id == bindparam("token_id"))
        )
        self.revoke_token = self.compile(
            update(admin_tokens)
            .where(admin_tokens.c.id == bindparam("token_id"), admin_tokens.c.revoked_at.is_(None))
            .values(revoked_at=bindparam("revoked_at"))
        )
        self.count_tokens = self.compile(select(func.count()).select_from(admin_tokens))
        self.insert_audit_event = self.compile(
            insert(audit_events), column_keys=[c.name for c in audit_events.columns][1:]
        )
        # PostgreSQL hands out sequence numbers as rows are inserted, not as
        # they commit; creators taking turns on a lock until they commit keeps
        # creation order and commit order one, so a keyset walk misses no
        # client. SQLite's writer holds the whole database already.
        self.lock_creation = (
            None if self.engine == "sqlite" else f"SELECT pg_advisory_xact_lock({CREATION_LOCK})"
        )
        self.lock_tokens = (
            None if self.engine == "sqlite" else f"SELECT pg_advisory_xact_lock({TOKENS_LOCK})"
        )

    @property
    def _limit(self) -> str:
        # The limit is added as text: SQLite's compiler pairs a bound LIMIT
        # with an OFFSET parameter of its own.
        return ":limit" if self.engine == "sqlite" else "%(limit)s"

    def compile(self, statement: ClauseElement, *, column_keys: list[str] | None = None) -> str:
        return str(statement.compile(dialect=self._dialect, column_keys=column_keys))

    def list_clients(self, filters: frozenset[str]) -> str:
        """The list query for a set of filters, compiled on first use."""
        return self._listing("clients", filters, _list_statement)

    def list_audit_events(self, filters: frozenset[str]) -> str:
        return self._listing("audit_events", filters, _audit_statement)

    def _listing(
        self, kind: str, filters: frozenset[str], build: Callable[[frozenset[str]], Select[Any]]
    ) -> str:
        sql = self._lists.get((kind, filters))
        if sql is None:
            sql = self.compile(build(filters)) + f" LIMIT {self._limit}"
            self._lists[(kind, filters)] = sql
        return sql

    def bind(self, values: Params) -> Params:
        sqlite_times = self.engine == "sqlite"
        return {key: _encode(value, sqlite_times=sqlite_times) for key, value in values.items()}


# Reads.


async def _one(db: Runner, sql: str, params: Params) -> Sequence[Any] | None:
    rows = await db.fetch(sql, params)
    return rows[0] if rows else None


async def active_token(db: Runner, *, digest: str) -> AdminToken | None:
    row = await _one(db, db.sql.active_token, {"digest": digest})
    return None if row is None else _decode_token(row)


async def document(db: Runner, *, client_id: str) -> Document | None:
    row = await _one(db, db.sql.document_by_id, {"client_id": client_id})
    return None if row is None else Document(*row)


async def credentials(db: Runner, *, client_id: str) -> Credentials | None:
    row = await _one(db, db.sql.credentials_by_id, {"client_id": client_id})
    return None if row is None else _decode_credentials(row)


async def token_and_document(
    db: Runner, *, digest: str, client_id: str
) -> tuple[AdminToken, Document | None] | None:
    """The active token of a digest and the client's document, in one read;
    None when no active token has the digest."""
    row = await _one(db, db.sql.token_and_document, {"digest": digest, "client_id": client_id})
    if row is None:
        return None
    token, client = row[:_TOKEN_WIDTH], row[_TOKEN_WIDTH:]
    return _decode_token(token), None if client[0] is None else Document(*client)


async def token_and_credentials(
    db: Runner, *, digest: str, client_id: str
) -> tuple[AdminToken, Credentials | None] | None:
    """The active token of a digest and what authenticating the client
    needs, in one read; None when no active token has the digest."""
    row = await _one(db, db.sql.token_and_credentials, {"digest": digest, "client_id": client_id})
    if row is None:
        return None
    token, client = row[:_TOKEN_WIDTH], row[_TOKEN_WIDTH:]
    return _decode_token(token), None if client[0] is None else _decode_credentials(client)


async def get_client(
    db: Runner, *, client_id: str, for_update: bool = False
) -> ClientRecord | None:
    """A whole client; `for_update` locks its row until the transaction ends
    (SQLite's writer holds the whole database already)."""
    sql = db.sql.client_for_update if for_update else db.sql.client_by_id
    row = await _one(db, sql, {"client_id": client_id})
    return None if row is None else _decode_client(row)


async def list_clients(
    db: Runner, *, after_seq: int, limit: int, filters: ListFilters
) -> list[ListedClient]:
    """Serialized clients in creation order after a keyset position."""
    params = filters.params()
    sql = db.sql.list_clients(frozenset(params))
    rows = await db.fetch(sql, {**db.sql.bind(params), "after_seq": after_seq, "limit": limit})
    return [ListedClient(*row) for row in rows]


async def list_audit_events(
    db: Runner, *, before_seq: int, limit: int, filters: AuditFilters
) -> list[AuditEvent]:
    """Events newest first, before a keyset position."""
    params = filters.params()
    sql = db.sql.list_audit_events(frozenset(params))
    rows = await db.fetch(sql, {**db.sql.bind(params), "before_seq": before_seq, "limit": limit})
    return [_decode_audit_event(row) for row in rows]


async def export_batch(db: Runner, *, after_seq: int, limit: int) -> list[ExportedClient]:
    """Clients with their secret hashes, in creation order after a keyset position."""
    rows = await db.fetch(db.sql.export_batch, {"after_seq": after_seq, "limit": limit})
    return [_decode_exported(row) for row in rows]


async def documents_of_ids(db: Runner, *, client_ids: Sequence[str]) -> list[StoredDocument]:
    """The stored documents of those of these ids that exist."""
    rows = await db.fetch(db.sql.documents_of_ids, db.sql.bind({"ids": list(client_ids)}))
    return [StoredDocument(*row) for row in rows]


# Writes.


async def insert_audit_event(db: Runner, *, values: Params) -> None:
    await db.execute(db.sql.insert_audit_event, db.sql.bind(values))


async def lock_creation(db: Runner) -> None:
    """Take the creators' turn until the transaction ends."""
    if db.sql.lock_creation is not None:
        await db.fetch(db.sql.lock_creation, {})


async def lock_tokens(db: Runner) -> None:
    """Take the token writers' turn until the transaction ends."""
    if db.sql.lock_tokens is not None:
        await db.fetch(db.sql.lock_tokens, {})


async def insert_client(db: Runner, *, values: Params) -> bool:
    """False when a client with this id exists."""
    params = db.sql.bind({key: values[key] for key in _INSERT_KEYS})
    return await db.execute(db.sql.insert_client, params) == 1


def client_params(sql: Statements, values: Params) -> Params:
    """A client's columns bound for `insert_clients` and `update_clients`."""
    return sql.bind({key: values[key] for key in _INSERT_KEYS})


async def insert_clients(db: Runner, *, params: Sequence[Params]) -> int:
    """Many new clients in one driver call, in the order given (their
    creation order); returns how many were inserted (an existing id is not)."""
    return await db.execute_many(db.sql.insert_client, params)


async def update_clients(db: Runner, *, params: Sequence[Params]) -> None:
    """Set every writable column of many clients, each found by its id."""
    await db.execute_many(db.sql.update_client, [{**p, "client_id": p["id"]} for p in params])


async def insert_audit_events(db: Runner, *, params: Sequence[Params]) -> None:
    """Many audit events in one driver call; each bound by `sql.bind`."""
    await db.execute_many(db.sql.insert_audit_event, params)


async def update_client(db: Runner, *, client_id: str, values: Params) -> None:
    """Set every writable column from `values`."""
    params = db.sql.bind({key: values[key] for key in _WRITABLE})
    await db.execute(db.sql.update_client, {**params, "client_id": client_id})


async def delete_client(db: Runner, *, client_id: str) -> bool:
    return await db.execute(db.sql.delete_client, {"client_id": client_id}) == 1


async def replace_secret_hash(
    db: Runner, *, client_id: str, previous: bool, old_hash: str, new_hash: str
) -> bool:
    """Swap one stored hash for another of the same secret (an upgrade); a
    no-op, False, when a rotation replaced the hash in between."""
    sql = db.sql.replace_previous_hash if previous else db.sql.replace_current_hash
    params = {"client_id": client_id, "old_hash": old_hash, "new_hash": new_hash}
    return await db.execute(sql, params) == 1


async def drop_previous_secret(db: Runner, *, client_id: str, old_hash: str) -> None:
    """Forget an expired previous secret; its expiry time stays on show."""
    await db.execute(db.sql.drop_previous_secret, {"client_id": client_id, "old_hash": old_hash})


async def insert_token(
    db: Runner, *, token_id: str, name: str, digest: str, scopes: list[str], created_at: datetime
) -> None:
    values = {
        "id": token_id,
        "name": name,
        "digest": digest,
        "scopes": scopes,
        "created_at": created_at,
        "revoked_at": None,
    }
    await db.execute(db.sql.insert_token, db.sql.bind(values))


async def list_tokens(db: Runner) -> list[TokenListing]:
    return [_decode_token_listing(row) for row in await db.fetch(db.sql.list_tokens, {})]


async def token_name(db: Runner, *, token_id: str) -> str | None:
    """The name of the token with this id; None when there is none."""
    row = await _one(db, db.sql.token_name, {"token_id": token_id})
    return None if row is None else str(row[0])


async def revoke_token(db: Runner, *, token_id: str, revoked_at: datetime) -> bool:
    params = db.sql.bind({"token_id": token_id, "revoked_at": revoked_at})
    return await db.execute(db.sql.revoke_token, params) == 1


async def count_tokens(db: Runner) -> int:
    row = await _one(db, db.sql.count_tokens, {})
    assert row is not None
    return int(row[0])
