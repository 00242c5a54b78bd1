"""Liveness and readiness probes; they need no token."""

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from client_registry.problems import Unavailable
from client_registry.schemas import ProblemDetails

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="health")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readiness",
    responses={503: {"model": ProblemDetails, "description": "the database does not answer"}},
)
def readyz(request: Request) -> dict[str, str]:
    """The database answers."""
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        raise Unavailable("the database does not answer") from None
    return {"status": "ok"}
