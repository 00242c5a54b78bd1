"""FastAPI dependencies for what the app built at start-up."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from client_registry.secrets import SecretHasher
from client_registry.service import Clock
from client_registry.settings import Settings


def _connection(request: Request) -> Iterator[Connection]:
    with request.app.state.engine.connect() as conn:
        yield conn


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _hasher(request: Request) -> SecretHasher:
    hasher: SecretHasher = request.app.state.hasher
    return hasher


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


ConnectionDep = Annotated[Connection, Depends(_connection)]
SettingsDep = Annotated[Settings, Depends(_settings)]
HasherDep = Annotated[SecretHasher, Depends(_hasher)]
ClockDep = Annotated[Clock, Depends(_clock)]
