"""PostgreSQL through psycopg 3's async connections: the libpq URL that
migrates is the one that serves, and no call waits on the event loop.
Transactions use psycopg's cursors; a read on its own is sent through
libpq directly (postgres_reads), and the keyed reads that one turn of the
event loop makes go together in one pipeline on one connection."""

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy.engine import URL

from client_registry.outages import Breaker, DatabaseDown, FailureLog
from client_registry.postgres_pool import ConnectionPool, PoolExhausted
from client_registry.postgres_reads import Outcome, ReadConnection, Rows
from client_registry.repository import Params, Runner, Statements
from client_registry.settings import Settings

# SQLSTATEs of operational failures (a 503), by class or by code.
_KINDS = {
    "08": "connection_lost",
    "53": "insufficient_resources",
    "53100": "disk_full",
    "57014": "statement_timeout",
    "57P01": "restarting",
    "57P02": "restarting",
    "57P03": "restarting",
    "25006": "read_only",
    "55P03": "locked",
    "40001": "contention",
    "40P01": "contention",
    "42P01": "not_migrated",
}
# Kinds of failure after which a read runs again on another connection.
_RETRIED_READS = frozenset({"connection_lost", "restarting"})
# Kinds after which the database is not asked again for a moment.
_TRIPS = frozenset({"cannot_connect", "timeout"})
# The client's own bound on one unit of work, past the server's statement
# timeout: a paused or unreachable server enforces no timeout of its own.
_MARGIN_SECONDS = 1.0
# Reads sent in one pipeline at most, which bounds how long the last of
# them waits behind the others; one more starts a batch of its own.
_BATCH_SIZE = 32


def libpq_conninfo(url: URL) -> str:
    """The URL as libpq connection parameters; every query parameter libpq
    knows (sslmode, connect_timeout, options, ...) passes through."""
    query = {key: v if isinstance(v, str) else v[-1] for key, v in url.query.items()}
    params = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
        **query,
    }
    return make_conninfo("", **{key: value for key, value in params.items() if value is not None})


def _sever(conn: ReadConnection, severed: list[bool]) -> None:
    """Wakes a call waiting on a silent server: shutting the socket down
    makes it readable, and psycopg fails the call as a lost connection."""
    severed.append(True)
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, psycopg.Error):
        pass  # already closed


class _Runner:
    def __init__(
        self,
        database: "PostgresDatabase",
        conn: ReadConnection | None = None,
        *,
        batched: bool = False,
    ) -> None:
        self.sql = database.sql
        self._database = database
        self._conn = conn
        self._batched = batched

    async def fetch(self, sql: str, params: Params) -> Sequence[Sequence[Any]]:
        if self._conn is not None:
            cursor = await self._conn.execute(sql, params)
            return await cursor.fetchall()
        return await self._database.read(sql, params, batched=self._batched)

    async def execute(self, sql: str, params: Params) -> int:
        assert self._conn is not None, "writes run in a transaction"
        cursor = await self._conn.execute(sql, params)
        return cursor.rowcount

    async def execute_many(self, sql: str, params: Sequence[Params]) -> int:
        assert self._conn is not None, "writes run in a transaction"
        # psycopg sends the statements in one pipeline: one round trip, not
        # one per row; rowcount then sums the rows every execution changed.
        async with self._conn.cursor() as cursor:
            await cursor.executemany(sql, params)
            return cursor.rowcount


class _Batch:
    """Reads gathered in one turn of the event loop, sent together. The
    first read sends them; the others wait for their answers here."""

    def __init__(self, sql: str, params: Params) -> None:
        self.statements: list[tuple[str, Params]] = [(sql, params)]
        self.waiting: list[asyncio.Future[Outcome | None]] = []

    def join(self, sql: str, params: Params) -> "asyncio.Future[Outcome | None]":
        self.statements.append((sql, params))
        answer: asyncio.Future[Outcome | None] = asyncio.get_running_loop().create_future()
        self.waiting.append(answer)
        return answer

    def answer(self, outcomes: Sequence[Outcome]) -> None:
        for waiting, outcome in zip(self.waiting, outcomes, strict=True):
            if not waiting.done():
                waiting.set_result(outcome)

    def fail(self, down: DatabaseDown) -> None:
        for waiting in self.waiting:
            if not waiting.done():
                waiting.set_exception(DatabaseDown(down.kind, down.reason))

    def abandon(self) -> None:
        """The sender failed other than by the database (or was cancelled):
        each waiting read is sent on its own."""
        for waiting in self.waiting:
            if not waiting.done():
                waiting.set_result(None)


class PostgresDatabase:
    def __init__(self, url: URL, settings: Settings) -> None:
        self.sql = Statements("postgresql")
        conninfo = libpq_conninfo(url)
        if "connect_timeout" not in conninfo_to_dict(conninfo):
            conninfo = make_conninfo(
                conninfo, connect_timeout=max(1, round(settings.connect_timeout))
            )
        self._conninfo = conninfo
        self._statement_timeout_ms = int(settings.statement_timeout * 1000)
        self._bound = settings.statement_timeout + _MARGIN_SECONDS
        self._pool = ConnectionPool(
            self._connect, size=settings.pool_size, wait_timeout=settings.pool_timeout
        )
        self._breaker = Breaker()
        self._failures = FailureLog()
        self._gathering: _Batch | None = None
        self.reads: Runner = _Runner(self, batched=True)
        self.scans: Runner = _Runner(self)

    async def _connect(self) -> ReadConnection:
        try:
            conn = await ReadConnection.connect(self._conninfo, autocommit=True)
            await conn.execute(
                "SELECT set_config('statement_timeout', %s, false)",
                (str(self._statement_timeout_ms),),
            )
        except psycopg.Error as error:
            raise _ConnectFailed(error) from None
        return conn

    @asynccontextmanager
    async def _connection(self, *, retryable: bool = False) -> AsyncIterator[ReadConnection]:
        """A pooled connection for one unit of work, with every wait bounded;
        driver failures come out as DatabaseDown."""
        try:
            self._breaker.check()
        except DatabaseDown as down:
            # Refused without asking: a repeat, counted but not printed.
            self._failures.failed(down.kind, down.reason)
            raise
        severed: list[bool] = []
        try:
            async with self._pool.connection(retryable=retryable) as conn:
                timer = asyncio.get_running_loop().call_later(self._bound, _sever, conn, severed)
                try:
                    yield conn
                finally:
                    timer.cancel()
        except _ConnectFailed as failed:
            raise self._down("cannot_connect", failed.error) from None
        except PoolExhausted:
            raise self._down("pool_exhausted", None) from None
        except psycopg.Error as error:
            raise self._failure(error, timed_out=bool(severed)) from None

    def _failure(self, error: psycopg.Error, *, timed_out: bool = False) -> Exception:
        """A DatabaseDown for an operational failure; any other error as it is."""
        kind = "timeout" if timed_out else _kind(error)
        return error if kind is None else self._down(kind, error)

    def _down(self, kind: str, error: psycopg.Error | None) -> DatabaseDown:
        reason = "no reply in time" if kind == "timeout" else _reason(error)
        self._failures.failed(kind, reason)
        if kind in _TRIPS:
            self._breaker.trip(kind)
        return DatabaseDown(kind, reason)

    async def read(self, sql: str, params: Params, *, batched: bool = False) -> Rows:
        """One statement on its own; a connection the server dropped while
        idle is replaced and the read, which changes nothing, runs again.
        A connection an administrator terminated may still look idle: its
        backend says goodbye (57P01, `restarting`) only when it next reads.

        `batched`: sent with the other keyed reads of the same turn of the
        event loop, in one pipeline (`_batched`). Scans go alone: a slow one
        would hold up every read sent after it."""
        try:
            if batched:
                return await self._batched(sql, params)
            async with self._connection(retryable=True) as conn:
                return await conn.read(sql, params)
        except DatabaseDown as down:
            if down.kind not in _RETRIED_READS:
                raise
        return await self._read_alone(sql, params)

    async def _read_alone(self, sql: str, params: Params) -> Rows:
        """A read on its own, on a connection known alive."""
        async with self._connection() as conn:
            return await conn.read(sql, params)

    async def _batched(self, sql: str, params: Params) -> Rows:
        """The read sent with the others that this turn of the event loop
        makes: the first waits one turn for them, then sends them all."""
        batch = self._gathering
        if batch is not None and len(batch.statements) < _BATCH_SIZE:
            answer = await batch.join(sql, params)
            if answer is None:  # the batch broke down before it was answered
                return await self._read_alone(sql, params)
            outcome = answer
        else:
            batch = self._gathering = _Batch(sql, params)
            try:
                try:
                    await asyncio.sleep(0)
                finally:
                    if self._gathering is batch:
                        self._gathering = None
                async with self._connection(retryable=True) as conn:
                    outcomes = await conn.read_batch(batch.statements)
            except DatabaseDown as down:
                for _ in batch.waiting:
                    self._failures.failed(down.kind, down.reason)
                batch.fail(down)
                raise
            except BaseException:
                batch.abandon()
                raise
            batch.answer(outcomes[1:])
            outcome = outcomes[0]
        if isinstance(outcome, psycopg.Error):
            raise self._failure(outcome)
        return outcome

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Runner]:
        async with self._connection() as conn, conn.transaction():
            yield _Runner(self, conn)
        self._failures.recovered()

    async def ping(self) -> None:
        await self.read("SELECT 1", {})
        self._breaker.reset()
        self._failures.recovered()

    def connections_in_use(self) -> int:
        return self._pool.in_use

    async def close(self) -> None:
        await self._pool.close()


class _ConnectFailed(Exception):
    def __init__(self, error: psycopg.Error) -> None:
        self.error = error


def _kind(error: psycopg.Error) -> str | None:
    state = error.sqlstate
    if state is None:
        # Raised by the client: the connection broke or was closed.
        return "connection_lost" if isinstance(error, psycopg.OperationalError) else None
    return _KINDS.get(state) or _KINDS.get(state[:2])


def _reason(error: psycopg.Error | None) -> str:
    """The driver's first line: it names the host and the cause, and never a
    value of a statement (those are only in failures that are not logged)."""
    if error is None:
        return "every connection stayed busy"
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
