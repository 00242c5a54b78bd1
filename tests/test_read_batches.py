"""On PostgreSQL the keyed reads one turn of the event loop makes are sent
together, in one pipeline on one connection: each must still get its own
answer, fail alone, and outlive a lost connection or a cancelled sender."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text

from builders import new_client
from client_registry.database import Database
from client_registry.db import database_url
from client_registry.outages import DatabaseDown
from conftest import Service, on_database

pytestmark = pytest.mark.postgresql_only

T = TypeVar("T")
NUMBER = "SELECT CAST(%(n)s AS integer), pg_backend_pid()"
RATIO = "SELECT 100 / CAST(%(d)s AS integer)"
APPLICATION = "registry_batch_test"


def _on_one_connection(url: str, work: Callable[[Database], Awaitable[T]], **settings: Any) -> T:
    """`work` with a pool of one connection, so a batch and the reads
    before it meet on the same connection."""
    return on_database(url, work, pool_size=1, **settings)


async def _number(database: Database, n: int) -> tuple[int, int]:
    rows = await database.reads.fetch(NUMBER, {"n": n})
    return rows[0][0], rows[0][1]


def test_reads_of_one_turn_go_together_and_keep_their_own_answers(database: str) -> None:
    async def work(db: Database) -> list[tuple[int, int]]:
        await _number(db, -1)  # prepared on the connection: the batch is pipelined
        return await asyncio.gather(*(_number(db, n) for n in range(20)))

    # The default pool, which would give reads sent apart a connection each.
    answers = on_database(database, work)
    assert [n for n, _ in answers] == list(range(20))
    assert len({pid for _, pid in answers}) == 1, "one batch, one connection"


def test_a_read_that_fails_in_a_batch_fails_alone(database: str) -> None:
    async def work(db: Database) -> list[Any]:
        await db.reads.fetch(RATIO, {"d": 1})
        reads = [db.reads.fetch(RATIO, {"d": d}) for d in (1, 0, 4, 0, 5)]
        return await asyncio.gather(*reads, return_exceptions=True)

    answers = _on_one_connection(database, work)
    assert answers[0] == [(100,)]
    assert isinstance(answers[1], psycopg.errors.DivisionByZero)
    assert answers[2] == [(25,)]
    assert isinstance(answers[3], psycopg.errors.DivisionByZero)
    assert answers[4] == [(20,)]


def test_a_read_past_the_statement_timeout_is_a_503_and_the_others_are_answered(
    database: str,
) -> None:
    slow = "SELECT CAST(%(n)s AS integer) FROM pg_sleep(CAST(%(seconds)s AS float))"

    async def work(db: Database) -> list[Any]:
        await db.reads.fetch(slow, {"n": 0, "seconds": 0})
        reads = [
            db.reads.fetch(slow, {"n": 1, "seconds": 0}),
            db.reads.fetch(slow, {"n": 2, "seconds": 5}),
            db.reads.fetch(slow, {"n": 3, "seconds": 0}),
        ]
        return await asyncio.gather(*reads, return_exceptions=True)

    answers = _on_one_connection(database, work, statement_timeout=0.3)
    assert answers[0] == [(1,)]
    assert isinstance(answers[1], DatabaseDown)
    assert answers[1].kind == "statement_timeout"
    assert answers[2] == [(3,)]


def test_a_batch_on_a_dropped_connection_is_read_again(database: str) -> None:
    url = f"{database}&application_name={APPLICATION}"
    admin = create_engine(database_url(database), isolation_level="AUTOCOMMIT")

    def terminate() -> int:
        with admin.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": APPLICATION},
                ).scalar_one()
            )

    async def work(db: Database) -> tuple[int, list[tuple[int, int]]]:
        _, before = await _number(db, -1)
        assert await asyncio.to_thread(terminate) == 1
        return before, await asyncio.gather(*(_number(db, n) for n in range(10)))

    try:
        before, answers = _on_one_connection(url, work)
    finally:
        admin.dispose()
    assert [n for n, _ in answers] == list(range(10))
    assert before not in {pid for _, pid in answers}


def test_reads_waiting_on_a_cancelled_sender_are_answered(database: str) -> None:
    async def work(db: Database) -> list[tuple[int, int]]:
        await _number(db, -1)
        sender, *waiting = [asyncio.create_task(_number(db, n)) for n in range(5)]
        await asyncio.sleep(0)  # each has started: the first sends, the others wait on it
        sender.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sender
        async with asyncio.timeout(10):  # left waiting, they would wait for ever
            return await asyncio.gather(*waiting)

    answers = _on_one_connection(database, work)
    assert [n for n, _ in answers] == [1, 2, 3, 4]


def test_a_batch_outlives_statements_deallocated_by_a_rollback(database: str) -> None:
    """psycopg prepares a statement of its own at its sixth run in a
    transaction, and a rollback then deallocates every prepared statement of
    the session, the batch's among them."""

    class RolledBack(Exception):
        pass

    async def roll_back(db: Database) -> None:
        async with db.transaction() as tx:
            for _ in range(7):
                await tx.fetch("SELECT 1", {})
            raise RolledBack

    async def work(db: Database) -> list[tuple[int, int]]:
        await _number(db, -1)
        with pytest.raises(RolledBack):
            await roll_back(db)
        return await asyncio.gather(*(_number(db, n) for n in range(6)))

    answers = _on_one_connection(database, work)
    assert [n for n, _ in answers] == list(range(6))


def test_scans_are_never_held_up_behind_reads(database: str) -> None:
    """A scan (a page of a list, an export batch) may take a while: it goes
    on a connection of its own, never into the reads' pipeline."""

    async def work(db: Database) -> tuple[int, list[tuple[int, int]]]:
        scan = db.scans.fetch("SELECT pg_backend_pid() FROM pg_sleep(0.2)", {})
        reads = [_number(db, n) for n in range(5)]
        scanned, *answers = await asyncio.gather(scan, *reads)
        return scanned[0][0], answers

    scanner, answers = on_database(database, work)
    assert [n for n, _ in answers] == list(range(5))
    assert scanner not in {pid for _, pid in answers}


def test_concurrent_gets_and_authentications_each_answer_their_own_client(
    service: Service, api: httpx.Client
) -> None:
    clients = [new_client(api) for _ in range(8)]

    async def burst() -> list[tuple[str, int, Any]]:
        async with httpx.AsyncClient(base_url=service.url, headers=api.headers, timeout=30) as http:

            async def get(client: dict[str, Any]) -> tuple[str, int, Any]:
                response = await http.get(f"/v1/clients/{client['id']}")
                return client["id"], response.status_code, response.json()["id"]

            async def authenticate(client: dict[str, Any], secret: str) -> tuple[str, int, Any]:
                response = await http.post(
                    f"/v1/clients/{client['id']}/authenticate",
                    json={"secret": secret, "method": "client_secret_basic"},
                )
                return client["id"], response.status_code, secret == client["secret"]

            calls = []
            for client in clients * 3:
                calls += [
                    get(client),
                    authenticate(client, client["secret"]),
                    authenticate(client, client["secret"][:-1] + "x"),
                ]
            return await asyncio.gather(*calls)

    for client_id, status, answer in asyncio.run(burst()):
        if isinstance(answer, str):
            assert (status, answer) == (200, client_id)
        else:
            assert status == (200 if answer else 401), client_id
