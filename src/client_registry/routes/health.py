"""Liveness and readiness probes; they need no token."""

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from client_registry.problems import Unavailable

# Probes for orchestrators, kept out of the API description the SDKs are built from.
router = APIRouter(tags=["health"], include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> dict[str, str]:
    """The database answers."""
    try:
        with request.app.state.runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise Unavailable("the database does not answer") from None
    return {"status": "ok"}
