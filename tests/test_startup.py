"""Starting many at once (API.md sections 4 and 6): a rollout of replicas
runs `migrate` and `serve` together against one empty database; all of
them succeed, the migrations run once, and exactly one admin token is made.

Each test gets an empty database: a fresh SQLite file and, when
CLIENT_REGISTRY_TEST_POSTGRES_URL is set, a fresh PostgreSQL schema."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from client_registry.db import make_engine
from client_registry.migrate import alembic_config
from conftest import ENGINES, postgres_schema
from processes import Server, finish, start

MIGRATIONS = 4
SERVERS = 3
TOKEN_LINE = re.compile(r"Admin token.*?(crat_[A-Za-z0-9_\-]+)")


@pytest.fixture(params=ENGINES)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    with postgres_schema("test_startup") as url:
        yield url


def _stored(url: str, query: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query)).scalars())
    finally:
        engine.dispose()


def test_migrations_started_at_once_all_succeed_once(empty_database: str, tmp_path: Path) -> None:
    processes = [start(empty_database, tmp_path, "migrate") for _ in range(MIGRATIONS)]
    results = [finish(process) for process in processes]

    for result in results:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert _stored(empty_database, "SELECT version_num FROM alembic_version") == [head]
    assert _stored(empty_database, "SELECT count(*) FROM clients") == [0]


def test_servers_started_at_once_all_come_up_and_one_prints_a_token(
    empty_database: str, tmp_path: Path
) -> None:
    servers = [Server(empty_database, tmp_path, f"serve-{n}") for n in range(SERVERS)]
    try:
        for server in servers:
            server.wait_until_up()
        printed = [
            found.group(1)
            for server in servers
            for found in TOKEN_LINE.finditer(server.stdout + server.stderr)
        ]
        assert len(printed) == 1, f"admin tokens printed: {len(printed)}"
        (token,) = printed
        for server in servers:
            assert "Traceback" not in server.stderr, server.stderr
            listed = httpx.get(
                f"{server.url}/v1/clients",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert listed.status_code == 200, listed.text
    finally:
        for server in servers:
            server.stop()
    assert _stored(empty_database, "SELECT count(*) FROM admin_tokens") == [1]
