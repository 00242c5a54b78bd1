"""The /v1/clients resource: thin handlers over the service."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import AfterValidator

from client_registry import lifecycle, service, validation
from client_registry.dependencies import ActorDep, RuntimeDep
from client_registry.etags import etag, if_none_match_hits
from client_registry.pagination import page_response
from client_registry.repository import Document, ListFilters
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


def problem(description: str) -> dict[str, Any]:
    return {"model": ProblemDetails, "description": description}


Responses = dict[int | str, dict[str, Any]]
router = APIRouter(
    prefix="/v1/clients",
    tags=["clients"],
    responses={
        401: problem("missing or invalid admin token"),
        403: problem("the token lacks the scope"),
        422: problem("invalid input; `errors` names each field"),
    },
)
_NOT_FOUND: Responses = {404: problem("no client with this id")}
_BODY_ERRORS: Responses = {
    400: problem("malformed JSON"),
    413: problem("body over 64 KiB"),
    415: problem("body is not JSON"),
}
_STALE: Responses = {412: problem("If-Match does not match the current ETag")}

IfMatch = Annotated[str | None, Header(description="an ETag from an earlier read")]


def _client(row: Document, *, status: int = 200, secret: str | None = None) -> Response:
    """The stored document as it is, with the secret added when one is shown."""
    body = row.document
    if secret is not None:
        body = json.dumps({**json.loads(body), "secret": secret}, separators=(",", ":"))
    headers = {"ETag": etag(row.revision)}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _location(client_id: str) -> str:
    return f"/v1/clients/{client_id}"


@router.post(
    "",
    status_code=201,
    operation_id="createClient",
    name="createClient",
    response_model=ClientWithSecret,
    responses={**_BODY_ERRORS, 409: problem("the id exists")},
)
async def create_client(body: ClientCreate, runtime: RuntimeDep, actor: ActorDep) -> Response:
    """Create a client; the response holds its secret, shown this once."""
    row, secret = await service.create_client(
        runtime.database,
        data=body,
        hasher=runtime.hasher,
        secret_prefix=runtime.settings.secret_prefix,
        now=runtime.clock,
        actor=actor,
    )
    response = _client(row, status=201, secret=secret)
    response.headers["Location"] = _location(json.loads(row.document)["id"])
    return response


@router.get("", operation_id="listClients", name="listClients", response_model=ClientPage)
async def list_clients(
    request: Request,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="`nextCursor` of the previous page")] = None,
    name: Annotated[
        str | None,
        Query(max_length=200, description="case-insensitive substring"),
        AfterValidator(validation.check_name_filter),
    ] = None,
    grant_type: Annotated[
        str | None, Query(alias="grantType"), AfterValidator(validation.check_grant_type)
    ] = None,
    scope: Annotated[str | None, Query(), AfterValidator(validation.check_scope)] = None,
    first_party: Annotated[bool | None, Query(alias="firstParty")] = None,
) -> Response:
    """List clients in creation order, one page at a time."""
    filters = ListFilters(name=name, grant_type=grant_type, scope=scope, first_party=first_party)
    rows, next_cursor = await service.list_clients(
        runtime.database, cursor=cursor, limit=limit, filters=filters
    )
    return page_response(request, (row.document for row in rows), next_cursor)


@router.get(
    "/{client_id}",
    operation_id="getClient",
    name="getClient",
    response_model=ClientRead,
    responses={**_NOT_FOUND, 304: {"description": "If-None-Match matched"}},
)
async def get_client(
    client_id: str,
    runtime: RuntimeDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Read one client; its secret is never shown."""
    row = await service.get_client(runtime.database, client_id=client_id)
    if if_none_match_hits(if_none_match, row.revision):
        return Response(status_code=304, headers={"ETag": etag(row.revision)})
    return _client(row)


@router.put(
    "/{client_id}",
    operation_id="replaceClient",
    name="replaceClient",
    response_model=ClientRead,
    responses={**_NOT_FOUND, **_BODY_ERRORS, **_STALE},
)
async def replace_client(
    client_id: str,
    body: ClientReplace,
    runtime: RuntimeDep,
    actor: ActorDep,
    if_match: IfMatch = None,
) -> Response:
    """Replace every writable field; omitted optional fields return to their defaults."""
    row = await service.replace_client(
        runtime.database,
        client_id=client_id,
        data=body,
        if_match=if_match,
        now=runtime.clock,
        actor=actor,
    )
    return _client(row)


@router.patch(
    "/{client_id}",
    operation_id="updateClient",
    name="updateClient",
    response_model=ClientRead,
    responses={**_NOT_FOUND, **_BODY_ERRORS, **_STALE},
)
async def update_client(
    client_id: str,
    body: Annotated[ClientPatch, Body(media_type="application/merge-patch+json")],
    runtime: RuntimeDep,
    actor: ActorDep,
    if_match: IfMatch = None,
) -> Response:
    """Change some fields with a JSON Merge Patch; null resets a field to its default."""
    row = await service.patch_client(
        runtime.database,
        client_id=client_id,
        patch=body,
        if_match=if_match,
        now=runtime.clock,
        actor=actor,
    )
    return _client(row)


@router.delete(
    "/{client_id}",
    status_code=204,
    operation_id="deleteClient",
    name="deleteClient",
    responses={**_NOT_FOUND, **_STALE},
)
async def delete_client(
    client_id: str, runtime: RuntimeDep, actor: ActorDep, if_match: IfMatch = None
) -> Response:
    """Delete the client and its secrets."""
    await service.delete_client(
        runtime.database, client_id=client_id, if_match=if_match, now=runtime.clock, actor=actor
    )
    return Response(status_code=204)


@router.post(
    "/{client_id}/rotate-secret",
    operation_id="rotateClientSecret",
    name="rotateClientSecret",
    response_model=ClientWithSecret,
    responses={**_NOT_FOUND, **_BODY_ERRORS, **_STALE},
)
async def rotate_client_secret(
    client_id: str,
    runtime: RuntimeDep,
    actor: ActorDep,
    body: RotateSecret | None = None,
    if_match: IfMatch = None,
) -> Response:
    """Give the client a new secret, shown this once; the old one may keep
    working for a grace period."""
    row, secret = await lifecycle.rotate_secret(
        runtime,
        client_id=client_id,
        request=body or RotateSecret(),
        if_match=if_match,
        actor=actor,
    )
    return _client(row, secret=secret)


@router.post(
    "/{client_id}/authenticate",
    operation_id="authenticateClient",
    name="authenticateClient",
    response_model=ClientRead,
    responses={**_BODY_ERRORS},
)
async def authenticate_client(
    client_id: str,
    body: AuthenticateClient,
    runtime: RuntimeDep,
) -> Response:
    """Check a client's secret for the authorization server; every failure is
    the same 401 invalid_client."""
    document = await lifecycle.authenticate_client(
        runtime, client_id=client_id, secret=body.secret, method=body.method
    )
    return Response(document, media_type="application/json")
