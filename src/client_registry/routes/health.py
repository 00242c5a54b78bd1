"""Liveness and readiness probes; they need no token."""

import asyncio

from fastapi import APIRouter, Request

from client_registry.problems import Unavailable
from client_registry.runtime import Runtime

# Probes for orchestrators, kept out of the API description the SDKs are built from.
router = APIRouter(tags=["health"], include_in_schema=False)
# An orchestrator's probe times out after a few seconds; answer before it.
READY_WITHIN_SECONDS = 1.5


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, str]:
    """The database answers, within READY_WITHIN_SECONDS whatever it does."""
    runtime: Runtime = request.app.state.runtime
    # A task the probe stops waiting for rather than cancels: a cancelled
    # query waits for the server to acknowledge, which a hung server never
    # does. The ping ends by its own bounds.
    ping = asyncio.ensure_future(runtime.database.ping())
    done, _ = await asyncio.wait((ping,), timeout=READY_WITHIN_SECONDS)
    if not done:
        ping.add_done_callback(_forget)
        raise Unavailable("the database does not answer in time", headers={"Retry-After": "1"})
    try:
        ping.result()
    except Unavailable:
        raise
    except Exception:  # whatever else went wrong, the answer is "not ready"
        raise Unavailable("the database does not answer") from None
    return {"status": "ok"}


def _forget(task: "asyncio.Future[None]") -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not report it
