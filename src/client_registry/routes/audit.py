"""The audit trail: GET /v1/audit-events, newest first."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from client_registry import audit, service
from client_registry.dependencies import RuntimeDep
from client_registry.pagination import page_response
from client_registry.repository import AuditFilters
from client_registry.routes.clients import LINK, RETRY_AFTER, problem
from client_registry.schemas import AuditAction, AuditEventPage, Rfc3339Time

router = APIRouter(
    prefix="/v1/audit-events",
    tags=["audit"],
    responses={
        401: problem("missing or invalid admin token"),
        403: problem("the token lacks the audit:read scope"),
        422: problem("invalid query; `errors` names each parameter"),
        503: problem(
            "the database is unavailable; try again later", **{"Retry-After": RETRY_AFTER}
        ),
    },
)


@router.get(
    "",
    operation_id="listAuditEvents",
    name="listAuditEvents",
    summary="List audit events",
    response_model=AuditEventPage,
    responses={200: {"description": "one page of events", "headers": {"Link": LINK}}},
)
async def list_audit_events(
    request: Request,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="`nextCursor` of the previous page")] = None,
    client_id: Annotated[str | None, Query(alias="clientId", max_length=128)] = None,
    action: AuditAction | None = None,
    since: Annotated[Rfc3339Time | None, Query(description="inclusive, RFC 3339")] = None,
    until: Annotated[Rfc3339Time | None, Query(description="exclusive, RFC 3339")] = None,
) -> Response:
    """List audit events, newest first, one page at a time."""
    filters = AuditFilters(client_id=client_id, action=action, since=since, until=until)
    events, next_cursor = await service.list_audit_events(
        runtime.database, cursor=cursor, limit=limit, filters=filters
    )
    return page_response(request, map(audit.event_json, events), next_cursor)
