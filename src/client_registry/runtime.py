"""What the app builds at start-up and every request may use."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from client_registry.hot_reads import HotReads
from client_registry.secrets import SecretHasher
from client_registry.service import Clock
from client_registry.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    hot_reads: HotReads
    hasher: SecretHasher
    clock: Clock
    # As many as the pool holds: waiting for a slot, rather than in the
    # pool, keeps a busy pool from blocking the event loop.
    connection_slots: asyncio.Semaphore
    # SQLite only. SQLite admits one writer at a time and makes the others
    # sleep and retry, up to 100 ms a try; queueing this process's writers
    # on a lock keeps a burst of writes from waiting for a second.
    sqlite_writers: asyncio.Lock | None

    @asynccontextmanager
    async def connection(self, *, writes: bool) -> AsyncIterator[Connection]:
        """A pooled connection, once a slot (and a writer's turn) is free."""
        turn = self.sqlite_writers if writes and self.sqlite_writers else nullcontext()
        async with turn, self.connection_slots:
            with self.engine.connect() as conn:
                yield conn
