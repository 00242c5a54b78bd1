"""Liveness and readiness probes; they need no token."""

from fastapi import APIRouter, Request
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from client_registry.problems import Unavailable
from client_registry.runtime import Runtime

# Probes for orchestrators, kept out of the API description the SDKs are built from.
router = APIRouter(tags=["health"], include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _select_one(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, str]:
    """The database answers both the hot reads and the SQLAlchemy pool."""
    runtime: Runtime = request.app.state.runtime
    try:
        await runtime.hot_reads.token_scopes("")
        await run_in_threadpool(_select_one, runtime.engine)
    except Exception:  # whatever the driver raises, the answer is "not ready"
        raise Unavailable("the database does not answer") from None
    return {"status": "ok"}
