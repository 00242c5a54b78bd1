"""The FastAPI dependencies that hand handlers what the app built at start-up.

Coroutines, so FastAPI calls them on the event loop (a plain `def` one costs
a round trip through the thread pool), and few: each dependency costs about
10 us a request, so handlers take the whole Runtime rather than one
dependency per part of it."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from client_registry.runtime import Runtime


async def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _connection(request: Request) -> AsyncIterator[Connection]:
    """A pooled connection for a request that writes or lists."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.connection(writes=request.method not in ("GET", "HEAD")) as conn:
        yield conn


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
ConnectionDep = Annotated[Connection, Depends(_connection)]
