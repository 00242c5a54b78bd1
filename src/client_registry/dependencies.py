"""What the app builds at start-up, and the FastAPI dependencies that hand it
to handlers.

One dependency for all of it, and a coroutine so FastAPI calls it on the
event loop: each dependency costs about 10 us a request, and a plain `def`
one a round trip through the thread pool."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
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
    # Waiting for a slot, rather than in the pool, keeps a busy pool from
    # blocking the event loop.
    connection_slots: asyncio.Semaphore
    # On SQLite only: writers take turns here (see _write_turn).
    sqlite_writers: asyncio.Lock | None


async def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _write_turn(runtime: Runtime, method: str) -> AbstractAsyncContextManager[object]:
    """SQLite admits one writer at a time and makes the others sleep and
    retry, up to 100 ms a try; queueing this process's writers on a lock
    keeps a burst of writes from waiting for a second."""
    if runtime.sqlite_writers is None or method in ("GET", "HEAD"):
        return nullcontext()
    return runtime.sqlite_writers


async def _connection(request: Request) -> AsyncIterator[Connection]:
    """A pooled connection for a request that writes or lists."""
    runtime: Runtime = request.app.state.runtime
    async with _write_turn(runtime, request.method), runtime.connection_slots:
        with runtime.engine.connect() as conn:
            yield conn


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
ConnectionDep = Annotated[Connection, Depends(_connection)]
