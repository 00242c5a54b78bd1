"""The /v1/clients resource: thin handlers over the service."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from pydantic import AfterValidator

from client_registry import lifecycle, service, validation
from client_registry.auth import AdminAuthenticate, AdminRead, AdminWrite, admin_scopes
from client_registry.dependencies import ClockDep, ConnectionDep, HasherDep, SettingsDep
from client_registry.etags import etag, if_none_match_hits
from client_registry.repository import Record
from client_registry.schemas import (
    AuthenticateClient,
    ClientCreate,
    ClientPage,
    ClientPatch,
    ClientRead,
    ClientReplace,
    ClientWithSecret,
    ProblemDetails,
    RotateSecret,
)


def _problem(description: str) -> dict[str, Any]:
    return {"model": ProblemDetails, "description": description}


Responses = dict[int | str, dict[str, Any]]
router = APIRouter(
    prefix="/v1/clients",
    tags=["clients"],
    dependencies=[Depends(admin_scopes)],
    responses={
        401: _problem("missing or invalid admin token"),
        403: _problem("the token lacks the scope"),
        422: _problem("invalid input; `errors` names each field"),
    },
)
_NOT_FOUND: Responses = {404: _problem("no client with this id")}
_BODY_ERRORS: Responses = {
    400: _problem("malformed JSON"),
    413: _problem("body over 64 KiB"),
    415: _problem("body is not JSON"),
}
_STALE: Responses = {412: _problem("If-Match does not match the current ETag")}

IfMatch = Annotated[str | None, Header(description="an ETag from an earlier read")]


def _read(row: Record) -> ClientRead:
    return ClientRead.model_construct(**_fields(row))


def _fields(row: Record) -> dict[str, Any]:
    return {field: getattr(row, field) for field in ClientRead.model_fields}


def _location(client_id: str) -> str:
    return f"/v1/clients/{client_id}"


@router.post(
    "",
    status_code=201,
    operation_id="createClient",
    name="createClient",
    responses={**_BODY_ERRORS, 409: _problem("the id exists")},
)
def create_client(
    body: ClientCreate,
    response: Response,
    conn: ConnectionDep,
    hasher: HasherDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: AdminWrite,
) -> ClientWithSecret:
    """Create a client; the response holds its secret, shown this once."""
    row, secret = service.create_client(
        conn, data=body, hasher=hasher, secret_prefix=settings.secret_prefix, now=clock
    )
    response.headers["Location"] = _location(row.id)
    response.headers["ETag"] = etag(row.revision)
    return ClientWithSecret.model_construct(**_fields(row), secret=secret)


@router.get("", operation_id="listClients", name="listClients")
def list_clients(
    request: Request,
    response: Response,
    conn: ConnectionDep,
    _: AdminRead,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="`nextCursor` of the previous page")] = None,
    name: Annotated[
        str | None, Query(max_length=200, description="case-insensitive substring")
    ] = None,
    grant_type: Annotated[
        str | None, Query(alias="grantType"), AfterValidator(validation.check_grant_type)
    ] = None,
    scope: Annotated[str | None, Query(), AfterValidator(validation.check_scope)] = None,
    first_party: Annotated[bool | None, Query(alias="firstParty")] = None,
) -> ClientPage:
    """List clients in creation order, one page at a time."""
    rows, next_cursor = service.list_clients(
        conn,
        cursor=cursor,
        limit=limit,
        name=name,
        grant_type=grant_type,
        scope=scope,
        first_party=first_party,
    )
    if next_cursor is not None:
        next_url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return ClientPage.model_construct(items=[_read(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/{client_id}",
    operation_id="getClient",
    name="getClient",
    response_model=ClientRead,
    responses={**_NOT_FOUND, 304: {"description": "If-None-Match matched"}},
)
def get_client(
    client_id: str,
    response: Response,
    conn: ConnectionDep,
    _: AdminRead,
    if_none_match: Annotated[str | None, Header()] = None,
) -> ClientRead | Response:
    """Read one client; its secret is never shown."""
    row = service.get_client(conn, client_id=client_id)
    if if_none_match_hits(if_none_match, row.revision):
        return Response(status_code=304, headers={"ETag": etag(row.revision)})
    response.headers["ETag"] = etag(row.revision)
    return _read(row)


@router.put(
    "/{client_id}",
    operation_id="replaceClient",
    name="replaceClient",
    responses={**_NOT_FOUND, **_BODY_ERRORS, **_STALE},
)
def replace_client(
    client_id: str,
    body: ClientReplace,
    response: Response,
    conn: ConnectionDep,
    clock: ClockDep,
    _: AdminWrite,
    if_match: IfMatch = None,
) -> ClientRead:
    """Replace every writable field; omitted optional fields return to their defaults."""
    row = service.replace_client(conn, client_id=client_id, data=body, if_match=if_match, now=clock)
    response.headers["ETag"] = etag(row.revision)
    return _read(row)


@router.patch(
    "/{client_id}",
    operation_id="updateClient",
    name="updateClient",
    responses={**_NOT_FOUND, **_BODY_ERRORS, **_STALE},
)
def update_client(
    client_id: str,
    body: Annotated[ClientPatch, Body(media_type="application/merge-patch+json")],
    response: Response,
    conn: ConnectionDep,
    clock: ClockDep,
    _: AdminWrite,
    if_match: IfMatch = None,
) -> ClientRead:
    """Change some fields with a JSON Merge Patch; null resets a field to its default."""
    row = service.patch_client(conn, client_id=client_id, patch=body, if_match=if_match, now=clock)
    response.headers["ETag"] = etag(row.revision)
    return _read(row)


@router.delete(
    "/{client_id}",
    status_code=204,
    operation_id="deleteClient",
    name="deleteClient",
    responses={**_NOT_FOUND, **_STALE},
)
def delete_client(
    client_id: str, conn: ConnectionDep, _: AdminWrite, if_match: IfMatch = None
) -> Response:
    """Delete the client and its secrets."""
    service.delete_client(conn, client_id=client_id, if_match=if_match)
    return Response(status_code=204)


@router.post(
    "/{client_id}/rotate-secret",
    operation_id="rotateClientSecret",
    name="rotateClientSecret",
    responses={**_NOT_FOUND, **_BODY_ERRORS, **_STALE},
)
def rotate_client_secret(
    client_id: str,
    response: Response,
    conn: ConnectionDep,
    hasher: HasherDep,
    settings: SettingsDep,
    clock: ClockDep,
    _: AdminWrite,
    body: RotateSecret | None = None,
    if_match: IfMatch = None,
) -> ClientWithSecret:
    """Give the client a new secret, shown this once; the old one may keep
    working for a grace period."""
    row, secret = lifecycle.rotate_secret(
        conn,
        client_id=client_id,
        request=body or RotateSecret(),
        if_match=if_match,
        hasher=hasher,
        secret_prefix=settings.secret_prefix,
        now=clock,
    )
    response.headers["ETag"] = etag(row.revision)
    return ClientWithSecret.model_construct(**_fields(row), secret=secret)


@router.post(
    "/{client_id}/authenticate",
    operation_id="authenticateClient",
    name="authenticateClient",
    responses={**_BODY_ERRORS},
)
def authenticate_client(
    client_id: str,
    body: AuthenticateClient,
    conn: ConnectionDep,
    hasher: HasherDep,
    clock: ClockDep,
    _: AdminAuthenticate,
) -> ClientRead:
    """Check a client's secret for the authorization server; every failure is
    the same 401 invalid_client."""
    row = lifecycle.authenticate_client(
        conn,
        client_id=client_id,
        secret=body.secret,
        method=body.method,
        hasher=hasher,
        now=clock,
    )
    return _read(row)
