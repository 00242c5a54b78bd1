"""A small pool of psycopg async connections that fails fast.

psycopg_pool hides a refused connection behind its wait timeout: each
request then waits the whole timeout for a connection that its background
worker keeps failing to open, and logs every attempt. Here a request opens
the connection it needs itself, so a refused or unknown server is an error
at once, and a hung one is bounded by `connect_timeout`."""

import asyncio
import select
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from psycopg import AsyncConnection, pq

from client_registry.metrics import POOL_CONNECTIONS_IN_USE

C = TypeVar("C", bound=AsyncConnection[Any])
# How long a connection back in the pool is trusted alive by retryable work.
RECENT_SECONDS = 1.0


class PoolExhausted(Exception):
    """Every connection stayed busy for the whole wait."""


def _idle(conn: AsyncConnection[Any]) -> bool:
    """Open and outside any statement or transaction: a unit that failed
    midway (a cancelled query, a lost server) leaves it busy or broken."""
    return not conn.closed and conn.pgconn.transaction_status == pq.TransactionStatus.IDLE


def _idle_and_alive(conn: AsyncConnection[Any]) -> bool:
    """An idle connection has nothing to read; a readable one holds the
    server's goodbye (a restart, an administrator's terminate) or EOF."""
    if not _idle(conn):
        return False
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    return not readable


class ConnectionPool(Generic[C]):
    """Up to `size` connections, the most recently used handed out first."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[C]],
        *,
        size: int,
        wait_timeout: float,
    ) -> None:
        self._connect = connect
        self._wait_timeout = wait_timeout
        self._idle: list[tuple[C, float]] = []
        self._slots = asyncio.Semaphore(size)
        self.in_use = 0

    async def _take_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # free: no timer needed
            return
        try:
            # A deadline, not wait_for: that starts a task for every wait.
            async with asyncio.timeout(self._wait_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise PoolExhausted from None

    def _reuse(self, *, retryable: bool) -> C | None:
        now = time.monotonic()
        while self._idle:
            conn, since = self._idle.pop()
            if (retryable and now - since < RECENT_SECONDS) or _idle_and_alive(conn):
                return conn
            conn.pgconn.finish()
        return None

    @asynccontextmanager
    async def connection(self, *, retryable: bool = False) -> AsyncIterator[C]:
        """A connection for one unit of work; it goes back to the pool when
        the work left it idle.

        `retryable`: the work runs again on a lost connection (a read), so a
        connection back for under a second is taken without polling its
        socket, a system call that was a twentieth of a read's time."""
        await self._take_slot()
        self.in_use += 1
        POOL_CONNECTIONS_IN_USE.inc()
        try:
            conn = self._reuse(retryable=retryable) or await self._connect()
            try:
                yield conn
            finally:
                # Kept when idle; whether it is still alive is asked when it
                # is next taken (a goodbye may come in the meantime anyway).
                if _idle(conn):
                    self._idle.append((conn, time.monotonic()))
                else:
                    conn.pgconn.finish()
        finally:
            self.in_use -= 1
            POOL_CONNECTIONS_IN_USE.dec()
            self._slots.release()

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop()[0].close()
