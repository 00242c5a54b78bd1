"""FastAPI dependencies for what the app built at start-up.

They are coroutines so FastAPI calls them on the event loop: a plain `def`
dependency costs a round trip through the thread pool on every request."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from client_registry.hot_reads import HotReads
from client_registry.secrets import SecretHasher
from client_registry.service import Clock
from client_registry.settings import Settings


async def _connection(request: Request) -> AsyncIterator[Connection]:
    """A pooled connection for the request; waiting for a slot, rather than in
    the pool, keeps a busy pool from blocking the event loop."""
    state = request.app.state
    async with state.connection_slots:
        engine: Engine = state.engine
        with engine.connect() as conn:
            yield conn


async def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def _hot_reads(request: Request) -> HotReads:
    reads: HotReads = request.app.state.hot_reads
    return reads


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _hasher(request: Request) -> SecretHasher:
    hasher: SecretHasher = request.app.state.hasher
    return hasher


async def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


ConnectionDep = Annotated[Connection, Depends(_connection)]
EngineDep = Annotated[Engine, Depends(_engine)]
HotReadsDep = Annotated[HotReads, Depends(_hot_reads)]
SettingsDep = Annotated[Settings, Depends(_settings)]
HasherDep = Annotated[SecretHasher, Depends(_hasher)]
ClockDep = Annotated[Clock, Depends(_clock)]
