"""Every branch of the PostgreSQL connection pool, on a real server: reuse,
replacing a connection the server dropped, connect failures at once, the
bounded wait, and a unit of work that fails or is cancelled midway."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import make_url

from client_registry.postgres_database import libpq_conninfo
from client_registry.postgres_pool import ConnectionPool, PoolExhausted
from conftest import POSTGRES_URL, free_port

pytestmark = pytest.mark.postgresql_only


def _pool(conninfo: str, *, size: int = 2, wait_timeout: float = 5) -> ConnectionPool:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(conninfo, autocommit=True)

    return ConnectionPool(connect, size=size, wait_timeout=wait_timeout)


def _run(work: Callable[[ConnectionPool], Awaitable[Any]], **options: Any) -> Any:
    assert POSTGRES_URL is not None
    conninfo = libpq_conninfo(make_url(POSTGRES_URL))

    async def main() -> Any:
        pool = _pool(conninfo, **options)
        try:
            return await work(pool)
        finally:
            await pool.close()

    return asyncio.run(main())


async def _backend_pid(pool: ConnectionPool) -> int:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT pg_backend_pid()")
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0])


def test_a_returned_connection_is_used_again():
    async def work(pool: ConnectionPool) -> list[int]:
        return [await _backend_pid(pool) for _ in range(3)]

    first, second, third = _run(work)
    assert first == second == third


async def _pid(conn: psycopg.AsyncConnection[Any]) -> int:
    row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
    assert row is not None
    return int(row[0])


def test_a_connection_the_server_dropped_is_passed_over():
    async def work(pool: ConnectionPool) -> tuple[int, int, int]:
        async with pool.connection() as first:
            dropped = await _pid(first)
            async with pool.connection() as second:
                kept = await _pid(second)
        # Both idle, the dropped one handed out first; a restart or an
        # administrator ends it while it waits.
        assert POSTGRES_URL is not None
        conninfo = libpq_conninfo(make_url(POSTGRES_URL))
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s, 5000)", (dropped,))
        return dropped, kept, await _backend_pid(pool)

    dropped, kept, used = _run(work, size=2)
    assert used == kept != dropped


def test_a_refused_connection_fails_at_once():
    async def work(pool: ConnectionPool) -> float:
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            async with pool.connection():
                pass
        assert pool.in_use == 0
        return time.monotonic() - started

    conninfo = f"host=127.0.0.1 port={free_port()} dbname=test user=postgres connect_timeout=5"

    async def main() -> float:
        pool = _pool(conninfo)
        try:
            return await work(pool)
        finally:
            await pool.close()

    assert asyncio.run(main()) < 1.0


def test_a_full_pool_is_waited_for_within_its_bound():
    async def work(pool: ConnectionPool) -> float:
        async with pool.connection():
            assert pool.in_use == 1
            started = time.monotonic()
            with pytest.raises(PoolExhausted):
                async with pool.connection():
                    pass
            return time.monotonic() - started

    waited = _run(work, size=1, wait_timeout=0.3)
    assert 0.25 < waited < 1.0


def test_a_freed_connection_goes_to_the_waiter():
    async def work(pool: ConnectionPool) -> int:
        async def hold() -> None:
            async with pool.connection():
                await asyncio.sleep(0.2)

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0.05)
        pid = await _backend_pid(pool)  # waits for the holder's connection
        await holder
        return pid

    assert _run(work, size=1, wait_timeout=2) > 0


def test_a_failed_transaction_gives_back_its_connection():
    async def work(pool: ConnectionPool) -> tuple[int, int]:
        before = await _backend_pid(pool)
        with pytest.raises(psycopg.errors.DivisionByZero):
            async with pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT 1 / 0")
        return before, await _backend_pid(pool)

    before, after = _run(work)
    assert before == after  # rolled back and idle: reused


def test_a_cancelled_query_frees_its_slot():
    async def work(pool: ConnectionPool) -> tuple[int, int]:
        async def slow() -> None:
            async with pool.connection() as conn:
                await conn.execute("SELECT pg_sleep(10)")

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return pool.in_use, await _backend_pid(pool)

    in_use, pid = _run(work, size=1, wait_timeout=1)
    assert in_use == 0
    assert pid > 0  # the one slot serves the next unit
