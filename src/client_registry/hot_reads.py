"""The reads of every authorization-server call, on the bare database driver:
the admin-token check, a client's document and its credentials.

SQLAlchemy's execute costs several times the query itself, and blocking
PostgreSQL round trips would stall the event loop, so these three run on
sqlite3 (one connection; a local read takes microseconds) or on asyncpg.
Their SQL is compiled once from the repository's statements."""

import asyncio
import json
import sqlite3
from collections import deque
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

import asyncpg
from sqlalchemy import Engine, Select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import Dialect

from client_registry import repository
from client_registry.db import POOL_SIZE, configure_sqlite


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


class AdminToken(NamedTuple):
    """An active admin token: who calls (never the token itself) and its scopes."""

    id: str
    name: str
    scopes: list[str]


class _Rows(Protocol):
    """Where the hot reads run: one row for one parameter, by compiled SQL."""

    async def fetchrow(self, sql: str, value: str) -> Any: ...

    async def close(self) -> None: ...


def _sql(statement: Select[Any], dialect: Dialect) -> str:
    return str(statement.compile(dialect=dialect))


def _credentials(row: Any) -> Credentials:
    """A credentials row as Python values: the methods are JSON text, and
    SQLite keeps booleans as integers and timestamps as naive UTC text."""
    found = Credentials(*row)
    expires_at: Any = found.previous_secret_expires_at
    if isinstance(expires_at, str):
        expires_at = datetime.fromisoformat(expires_at).replace(tzinfo=UTC)
    previous_generated = found.previous_secret_generated
    return found._replace(
        auth_methods=json.loads(row[1]),
        secret_generated=bool(found.secret_generated),
        previous_secret_generated=None if previous_generated is None else bool(previous_generated),
        previous_secret_expires_at=expires_at,
    )


class _SqliteRows:
    """One sqlite3 connection of its own, opened as the engine opens its
    connections but outside its pool, whose every connection the writers may
    need. The event loop runs one read at a time, and each SELECT sees the
    last commit (WAL, no open transaction)."""

    def __init__(self, engine: Engine) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        db = engine.dialect.connect(*args, **kwargs)
        assert isinstance(db, sqlite3.Connection)
        configure_sqlite(db)
        self._db = db

    async def fetchrow(self, sql: str, value: str) -> Any:
        # Fetching to the end finishes the statement, which ends its read
        # transaction: the next read sees the newest commit.
        rows = self._db.execute(sql, (value,)).fetchall()
        return rows[0] if rows else None

    async def close(self) -> None:
        self._db.close()


# How asyncpg reports a connection the server closed; between two queries it
# shows up as an InternalClientError (the protocol meets an unexpected state).
# A timeout is not among them: an unreachable server is not waited for twice.
_DROPPED_CONNECTION = (
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    ConnectionError,
)
CONNECT_TIMEOUT = 10  # seconds


class _PostgresRows:
    """asyncpg connections handed out in turn, each opened when first needed;
    one awaited round trip a read (asyncpg prepares a statement once per
    connection).

    asyncpg's own pool costs about 25 us of CPU an acquire and release, as
    much as a query. These connections only run single SELECTs, so there is
    nothing to reset between uses. A returned connection goes to the longest
    waiter: letting newcomers take it first starves some reads for tens of
    milliseconds under load."""

    def __init__(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        self._idle: list[Any] = [None] * size  # None: a slot with no connection yet
        self._waiters: deque[asyncio.Future[Any]] = deque()

    async def _acquire(self) -> Any:
        if self._idle:
            return self._idle.pop()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed over as we were cancelled
            raise

    def _release(self, connection: Any) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    async def fetchrow(self, sql: str, value: str) -> Any:
        try:
            return await self._fetchrow_once(sql, value)
        except _DROPPED_CONNECTION:
            # The server closed the connection (a restart, an idle timeout);
            # a read is safe to run again, on a new one.
            return await self._fetchrow_once(sql, value)

    async def _fetchrow_once(self, sql: str, value: str) -> Any:
        connection = await self._acquire()
        try:
            if connection is None or connection.is_closed():
                connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT)
            row = await connection.fetchrow(sql, value)
        except BaseException:
            # After a failure or a cancellation the connection's state is
            # unknown: drop it, and the slot opens a new one when next used.
            if connection is not None:
                connection.terminate()
            self._release(None)
            raise
        self._release(connection)
        return row

    async def close(self) -> None:
        for connection in self._idle:
            if connection is not None:
                await connection.close()
        self._idle.clear()


class HotReads:
    """The three reads, with their SQL compiled once for the driver."""

    def __init__(self, rows: _Rows, dialect: Dialect) -> None:
        self._rows = rows
        self._token_sql = _sql(repository.ACTIVE_TOKEN, dialect)
        self._document_sql = _sql(repository.DOCUMENT_BY_ID, dialect)
        self._credentials_sql = _sql(repository.CREDENTIALS_BY_ID, dialect)

    async def token_scopes(self, digest: str) -> list[str] | None:
        """The scopes of the active token with this digest; None when there is none."""
        row = await self._rows.fetchrow(self._token_sql, digest)
        return None if row is None else list(json.loads(row[0]))

    async def admin_token(self, digest: str) -> AdminToken | None:
        """The active token with this digest; None when there is none."""
        row = await self._rows.fetchrow(self._token_sql, digest)
        return None if row is None else AdminToken(row[1], row[2], list(json.loads(row[0])))

    async def document(self, client_id: str) -> Document | None:
        row = await self._rows.fetchrow(self._document_sql, client_id)
        return None if row is None else Document(*row)

    async def credentials(self, client_id: str) -> Credentials | None:
        row = await self._rows.fetchrow(self._credentials_sql, client_id)
        return None if row is None else _credentials(row)

    async def close(self) -> None:
        await self._rows.close()


def open_hot_reads(engine: Engine) -> HotReads:
    if engine.dialect.name == "sqlite":
        return HotReads(_SqliteRows(engine), engine.dialect)
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    asyncpg_dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
    return HotReads(_PostgresRows(dsn, POOL_SIZE), asyncpg_dialect)
