"""SQLite: keyed reads on the event loop, scans and writes on threads.

In WAL mode a reader never waits for a lock and a read by key takes
microseconds, so the hot reads run on the loop on a connection of their
own. Lists may scan the table and writes may wait for another process's
lock (up to the busy timeout), so each runs on a thread of its own: one
writer thread, as SQLite admits one writer at a time anyway."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.engine import URL

from client_registry.db import configure_sqlite
from client_registry.metrics import POOL_CONNECTIONS_IN_USE
from client_registry.outages import DatabaseDown, FailureLog
from client_registry.repository import Params, Runner, Statements
from client_registry.settings import Settings

T = TypeVar("T")


def _kind(error: sqlite3.Error) -> str | None:
    """The kind of an operational failure; None for a fault of the service."""
    message = str(error).lower()
    for needle, kind in (
        ("locked", "locked"),
        ("busy", "locked"),
        ("readonly", "read_only"),
        ("read-only", "read_only"),
        ("full", "disk_full"),
        ("unable to open", "cannot_open"),
        ("disk i/o", "io_error"),
        ("no such table", "not_migrated"),
    ):
        if needle in message:
            return kind
    return "unavailable" if isinstance(error, sqlite3.OperationalError) else None


def connect(path: str, *, busy_timeout: float) -> sqlite3.Connection:
    # Autocommit mode: transactions are begun explicitly (BEGIN IMMEDIATE).
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    configure_sqlite(db)
    return db


def _fetch(db: sqlite3.Connection, sql: str, params: Params) -> list[Any]:
    # Fetching to the end finishes the statement, which ends its read
    # transaction: the next read sees the newest commit.
    return db.execute(sql, params).fetchall()


def _execute(db: sqlite3.Connection, sql: str, params: Params) -> int:
    return db.execute(sql, params).rowcount


def _execute_many(db: sqlite3.Connection, sql: str, params: Sequence[Params]) -> int:
    return db.executemany(sql, params).rowcount


def _rollback(db: sqlite3.Connection) -> None:
    # A failed BEGIN leaves nothing to undo, and SQLite may have rolled
    # back already (a full disk).
    if db.in_transaction:
        db.execute("ROLLBACK")


# Keyed reads remembered while the database is unchanged: rows of a few
# hundred bytes, so a few megabytes at most; past it the memory starts over.
CACHED_READS = 10_000


class _OnLoop:
    """Keyed reads on the event loop, each answered from memory while the
    database has not changed since it was read.

    `PRAGMA data_version` proves that on every read: it changes whenever
    another connection commits, this process's writer and other processes
    alike, and costs a step of the read transaction rather than the
    lookup and the fetch of a row. Rows that were not found are remembered
    too, so an unknown client costs what a known one does."""

    def __init__(self, database: "SqliteDatabase") -> None:
        self.sql = database.sql
        self._database = database
        self._db = database.reader
        self._version: int | None = None
        self._rows: dict[tuple[Any, ...], list[Any]] = {}

    async def fetch(self, sql: str, params: Params) -> Sequence[Sequence[Any]]:
        try:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version or len(self._rows) >= CACHED_READS:
                self._rows.clear()
                self._version = version
            key = (sql, *params.values())
            rows = self._rows.get(key)
            if rows is None:
                rows = self._rows[key] = _fetch(self._db, sql, params)
            return rows
        except sqlite3.Error as error:
            raise self._database.failure(error) from None

    async def execute(self, sql: str, params: Params) -> int:
        raise RuntimeError("the keyed reads do not write")

    async def execute_many(self, sql: str, params: Sequence[Params]) -> int:
        raise RuntimeError("the keyed reads do not write")


class _OnThread:
    """Statements run on one thread and its connection."""

    def __init__(
        self, database: "SqliteDatabase", thread: ThreadPoolExecutor, db: sqlite3.Connection
    ) -> None:
        self.sql = database.sql
        self._database = database
        self._thread = thread
        self._db = db

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._thread, work, self._db, *args)
        except sqlite3.Error as error:
            raise self._database.failure(error) from None

    async def fetch(self, sql: str, params: Params) -> Sequence[Sequence[Any]]:
        return await self.run(_fetch, sql, params)

    async def execute(self, sql: str, params: Params) -> int:
        return await self.run(_execute, sql, params)

    async def execute_many(self, sql: str, params: Sequence[Params]) -> int:
        return await self.run(_execute_many, sql, params)


class SqliteDatabase:
    def __init__(self, url: URL, settings: Settings) -> None:
        path = url.database or ":memory:"
        timeout = settings.statement_timeout
        self.sql = Statements("sqlite")
        self._failures = FailureLog()
        self._turn_timeout = settings.pool_timeout
        try:
            self._connections = [connect(path, busy_timeout=timeout) for _ in range(3)]
        except sqlite3.Error as error:  # a folder that is missing or unwritable
            raise self.failure(error) from None
        self.reader, scanner, writer = self._connections
        self._threads = [ThreadPoolExecutor(1, thread_name_prefix=f"sqlite-{n}") for n in "sw"]
        self.reads: Runner = _OnLoop(self)
        self.scans: Runner = _OnThread(self, self._threads[0], scanner)
        self._writer = _OnThread(self, self._threads[1], writer)
        # This process's writers queue here rather than in SQLite's busy
        # handler, which sleeps up to 100 ms a try.
        self._writers = asyncio.Lock()
        self._writing = False

    def failure(self, error: sqlite3.Error) -> Exception:
        kind = _kind(error)
        if kind is None:
            return error
        self._failures.failed(kind, str(error))
        return DatabaseDown(kind, str(error))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Runner]:
        try:
            await asyncio.wait_for(self._writers.acquire(), self._turn_timeout)
        except TimeoutError:
            self._failures.failed("busy", "writers waited too long for their turn")
            raise DatabaseDown("busy") from None
        self._writing = True
        POOL_CONNECTIONS_IN_USE.inc()
        try:
            await self._writer.execute("BEGIN IMMEDIATE", {})
            yield self._writer
            await self._writer.execute("COMMIT", {})
            self._failures.recovered()
        except BaseException:
            await self._writer.run(_rollback)
            raise
        finally:
            self._writing = False
            POOL_CONNECTIONS_IN_USE.dec()
            self._writers.release()

    async def ping(self) -> None:
        await self.scans.fetch("SELECT 1", {})
        self._failures.recovered()

    def connections_in_use(self) -> int:
        return int(self._writing)

    async def close(self) -> None:
        for thread in self._threads:
            thread.shutdown()
        for connection in self._connections:
            connection.close()
