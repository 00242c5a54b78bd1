"""The FastAPI dependency that hands handlers what the app built at start-up.

A coroutine, so FastAPI calls it on the event loop (a plain `def` one costs
a round trip through the thread pool), and one: each dependency costs about
10 us a request, so handlers take the whole Runtime rather than one
dependency per part of it."""

from typing import Annotated

from fastapi import Depends, Request

from client_registry.audit import Actor
from client_registry.repository import AdminToken
from client_registry.runtime import Runtime


async def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


async def _actor(request: Request) -> Actor:
    """Who makes this request: its admin token (checked by the auth layer)
    and its request id, for the audit trail."""
    state = request.scope.get("state", {})
    token: AdminToken = state["admin_token"]
    return Actor.token(token.id, token.name, state.get("request_id"))


ActorDep = Annotated[Actor, Depends(_actor)]
