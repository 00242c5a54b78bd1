"""FastAPI dependencies for what the app built at start-up.

They are coroutines so FastAPI calls them on the event loop: a plain `def`
dependency costs a round trip through the thread pool on every request."""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from client_registry.secrets import SecretHasher
from client_registry.service import Clock
from client_registry.settings import Settings


async def _connection(request: Request) -> Connection:
    """The connection the admin check ran on (see auth.AdminAuth)."""
    conn: Connection = request.state.connection
    return conn


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
SettingsDep = Annotated[Settings, Depends(_settings)]
HasherDep = Annotated[SecretHasher, Depends(_hasher)]
ClockDep = Annotated[Clock, Depends(_clock)]
