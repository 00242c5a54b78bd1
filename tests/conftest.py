"""Fixtures: a real server per test module on a fresh, migrated database.

Every module runs once on a SQLite file and, when
CLIENT_REGISTRY_TEST_POSTGRES_URL is set, once on its own PostgreSQL schema.
Every response of the HTTP clients below is checked against /openapi.json.
"""

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, make_url, text

from client_registry.app import create_app
from client_registry.database import Database, open_database
from client_registry.db import database_url, make_engine
from client_registry.migrate import upgrade_to_head
from client_registry.settings import Settings
from client_registry.tokens import ALL_SCOPES, create_token
from openapi_check import ResponseChecker

T = TypeVar("T")
POSTGRES_URL = os.environ.get("CLIENT_REGISTRY_TEST_POSTGRES_URL")
# The PostgreSQL variant exists only when there is a server to run it on, so
# a plain `pytest` ends without a skip per test.
ENGINES = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql_only: runs on the PostgreSQL variant alone")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A postgresql_only test is left out, not skipped, on the other engines
    (a test of no engine variant runs on PostgreSQL when its URL is set)."""
    unvaried = "postgresql" if POSTGRES_URL else None
    keep, drop = [], []
    for item in items:
        engine = getattr(getattr(item, "callspec", None), "params", {}).get("database", unvaried)
        off = item.get_closest_marker("postgresql_only") and engine != "postgresql"
        (drop if off else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class FakeClock:
    """A clock the tests move forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)  # distinct stamps for every write
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module", params=ENGINES)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of a fresh database, migrated to the newest revision."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'registry.db'}"
        yield from _migrated(url)
        return
    with postgres_schema("test") as url:
        yield from _migrated(url)


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """The URL of an empty PostgreSQL schema of its own, dropped afterwards.

    The URL keeps the driver of CLIENT_REGISTRY_TEST_POSTGRES_URL as written,
    so a plain postgresql:// URL is tested as users give it."""
    assert POSTGRES_URL is not None
    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _migrated(url: str) -> Iterator[str]:
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    yield url


@pytest.fixture(scope="module")
def engine(database: str) -> Iterator[Engine]:
    """A direct connection for tests that look at what is stored."""
    engine = make_engine(database)
    yield engine
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Service:
    """A running server and what tests need to talk to it."""

    url: str
    database: str
    engine: Engine
    clock: FakeClock
    token: str
    checker: ResponseChecker | None = None
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client; with the all-scopes admin token unless another is given."""
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return self._keep(httpx.Client(base_url=self.url, headers=headers, timeout=30))

    def anonymous(self) -> httpx.Client:
        return self._keep(httpx.Client(base_url=self.url, timeout=30))

    def _keep(self, client: httpx.Client) -> httpx.Client:
        if self.checker is None:
            self.checker = ResponseChecker(httpx.get(f"{self.url}/openapi.json").json())
        client.event_hooks["response"] = [self.checker]
        self.clients.append(client)
        return client

    def mint_token(self, *scopes: str) -> str:
        return on_database(self.database, lambda db: create_token(db, name="test", scopes=scopes))


def on_database(url: str, work: Callable[[Database], Awaitable[T]], **overrides: object) -> T:
    """Run `work` on the service's own data path, as the CLI does, with
    settings of its own when `overrides` names any."""

    async def run() -> T:
        database = open_database(settings_for(url, **overrides))
        try:
            return await work(database)
        finally:
            await database.close()

    return asyncio.run(run())


def settings_for(database: str, **overrides: object) -> Settings:
    # Password-grade hashing is slow on purpose; tests need only a valid hash.
    values: dict[str, object] = {"database_url": database, "given_secret_rounds": 1000}
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


@contextmanager
def running_server(settings: Settings, clock: FakeClock) -> Iterator[str]:
    """Serve create_app(settings) with uvicorn on a free loopback port."""
    with serving_app(create_app(settings, clock=clock)) as url:
        yield url


@contextmanager
def serving_app(app: FastAPI) -> Iterator[str]:
    """Serve an app with uvicorn on a free loopback port, in a thread."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def service(database: str, engine: Engine) -> Iterator[Service]:
    clock = FakeClock()
    token = on_database(database, lambda db: create_token(db, name="tests", scopes=ALL_SCOPES))
    with running_server(settings_for(database), clock) as url:
        checker = ResponseChecker(httpx.get(f"{url}/openapi.json").json())
        running = Service(
            url=url, database=database, engine=engine, clock=clock, token=token, checker=checker
        )
        yield running
        for client in running.clients:
            client.close()


@pytest.fixture
def api(service: Service) -> httpx.Client:
    """An HTTP client holding a token with every scope."""
    return service.client()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
