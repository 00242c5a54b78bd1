"""A small pool of psycopg async connections that fails fast.

psycopg_pool hides a refused connection behind its wait timeout: each
request then waits the whole timeout for a connection that its background
worker keeps failing to open, and logs every attempt. Here a request opens
the connection it needs itself, so a refused or unknown server is an error
at once, and a hung one is bounded by `connect_timeout`."""

import asyncio
import select
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from psycopg import AsyncConnection, pq

from client_registry.metrics import POOL_CONNECTIONS_IN_USE

C = TypeVar("C", bound=AsyncConnection[Any])


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
        self._idle: list[C] = []
        self._slots = asyncio.Semaphore(size)
        self.in_use = 0

    async def _take_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # free: no timer needed
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait_timeout)
        except TimeoutError:
            raise PoolExhausted from None

    def _reuse(self) -> C | None:
        while self._idle:
            conn = self._idle.pop()
            if _idle_and_alive(conn):
                return conn
            conn.pgconn.finish()
        return None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[C]:
        """A connection for one unit of work; it goes back to the pool when
        the work left it idle."""
        await self._take_slot()
        self.in_use += 1
        POOL_CONNECTIONS_IN_USE.inc()
        try:
            conn = self._reuse() or await self._connect()
            try:
                yield conn
            finally:
                # Kept when idle; whether it is still alive is asked when it
                # is next taken (a goodbye may come in the meantime anyway).
                if _idle(conn):
                    self._idle.append(conn)
                else:
                    conn.pgconn.finish()
        finally:
            self.in_use -= 1
            POOL_CONNECTIONS_IN_USE.dec()
            self._slots.release()

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()
