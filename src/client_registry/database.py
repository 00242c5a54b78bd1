"""The one data path: each engine's connections, run through the
repository's statements. Nothing here blocks the event loop or waits
without a bound, and an operational failure is a 503 `unavailable`."""

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.engine import URL

from client_registry.db import database_url
from client_registry.repository import Runner, Statements
from client_registry.settings import Settings


class Database(Protocol):
    sql: Statements
    # Keyed reads of one row (the token check, get, authenticate).
    reads: Runner
    # Reads that may scan (lists, exports).
    scans: Runner

    def transaction(self) -> AbstractAsyncContextManager[Runner]:
        """A unit of work that commits when the block ends without error.
        Writers to one client serialize: its row is locked by `get_client(...,
        for_update=True)` (PostgreSQL), or the database by the transaction
        itself (SQLite)."""
        ...

    async def ping(self) -> None:
        """Raises Unavailable unless the database answers."""
        ...

    def connections_in_use(self) -> int: ...

    async def close(self) -> None: ...


def open_database(settings: Settings) -> Database:
    """The database of the settings' URL; connections open when first used."""
    url: URL = database_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        from client_registry.sqlite_database import SqliteDatabase

        return SqliteDatabase(url, settings)
    from client_registry.postgres_database import PostgresDatabase

    return PostgresDatabase(url, settings)
