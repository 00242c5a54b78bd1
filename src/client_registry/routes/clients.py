"""The /v1/clients resource: thin handlers over the service."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response

from client_registry import lifecycle, service
from client_registry.dependencies import ActorDep, RuntimeDep
from client_registry.etags import etag, if_none_match_hits
from client_registry.pagination import page_response
from client_registry.problems import InvalidRequest
from client_registry.repository import Document, ListFilters
from client_registry.schemas import (
    AuthenticateClient,
    ClientCreate,
    ClientPage,
    ClientPatch,
    ClientRead,
    ClientReplace,
    ClientWithSecret,
    GrantTypeFilter,
    NameFilter,
    ProblemDetails,
    RotateSecret,
    ScopeFilter,
)


def problem(description: str, **headers: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {"model": ProblemDetails, "description": description}
    if headers:
        answer["headers"] = headers
    return answer


def _header(description: str, *, required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "string"}}


_ETAG = _header('the strong validator of the client\'s current state, e.g. `"3f2a..."`')
_LOCATION = _header("the new client's URL, `/v1/clients/{id}`")
LINK = _header('`<URL of the next page>; rel="next"` while there is one', required=False)
RETRY_AFTER = _header("seconds to wait before trying again")

Responses = dict[int | str, dict[str, Any]]
router = APIRouter(
    prefix="/v1/clients",
    tags=["clients"],
    responses={
        401: problem("missing or invalid admin token"),
        403: problem("the token lacks the scope"),
        422: problem("invalid input; `errors` names each field"),
        503: problem(
            "the database is unavailable; try again later", **{"Retry-After": RETRY_AFTER}
        ),
    },
)
_NOT_FOUND: Responses = {404: problem("no client with this id")}
_BODY_ERRORS: Responses = {
    400: problem("malformed JSON"),
    413: problem("body over 64 KiB"),
    415: problem("body is not JSON"),
}
_STALE: Responses = {412: problem("If-Match does not match the current ETag")}


def _one_client(description: str, **headers: dict[str, Any]) -> Responses:
    return {200: {"description": description, "headers": {"ETag": _ETAG, **headers}}}


IfMatch = Annotated[str | None, Header(description="an ETag from an earlier read")]


def _client(row: Document, *, status: int = 200, secret: str | None = None) -> Response:
    """The stored document as it is, with the secret added when one is shown."""
    body = row.document
    if secret is not None:
        body = json.dumps({**json.loads(body), "secret": secret}, separators=(",", ":"))
    headers = {"ETag": etag(row.revision)}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def refuse_null_body(request: Request) -> None:
    """The rotate-secret body is optional, but when sent it is an object:
    FastAPI alone would take a JSON `null` for no body at all."""
    if (await request.body()).strip() == b"null":
        raise InvalidRequest(
            "the body must be an object or absent",
            errors=[{"field": "body", "message": "must be an object", "code": "invalid_request"}],
        )


def _location(client_id: str) -> str:
    return f"/v1/clients/{client_id}"


@router.post(
    "",
    status_code=201,
    operation_id="createClient",
    name="createClient",
    summary="Create a client",
    response_model=ClientWithSecret,
    responses={
        201: {
            "description": "the client with its secret, shown this once",
            "headers": {"ETag": _ETAG, "Location": _LOCATION},
        },
        **_BODY_ERRORS,
        409: problem("a client with this id exists"),
    },
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


@router.get(
    "",
    operation_id="listClients",
    name="listClients",
    summary="List clients",
    response_model=ClientPage,
    responses={200: {"description": "one page of clients", "headers": {"Link": LINK}}},
)
async def list_clients(
    request: Request,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="`nextCursor` of the previous page")] = None,
    name: Annotated[
        NameFilter,
        Query(max_length=200, description="case-insensitive substring"),
    ] = None,
    grant_type: Annotated[GrantTypeFilter, Query(alias="grantType")] = None,
    scope: Annotated[ScopeFilter, Query()] = None,
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
    summary="Read a client",
    response_model=ClientRead,
    responses={
        **_one_client("the client, never its secret"),
        304: {"description": "If-None-Match matched; no body", "headers": {"ETag": _ETAG}},
        **_NOT_FOUND,
    },
)
async def get_client(
    client_id: str,
    runtime: RuntimeDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Read one client; its secret is never shown."""
    row = await service.get_client(runtime.database, client_id=client_id)
    return read_response(row, if_none_match)


def read_response(row: Document, if_none_match: str | None) -> Response:
    """The client, or a 304 when If-None-Match holds its ETag."""
    if if_none_match_hits(if_none_match, row.revision):
        return Response(status_code=304, headers={"ETag": etag(row.revision)})
    return _client(row)


@router.put(
    "/{client_id}",
    operation_id="replaceClient",
    name="replaceClient",
    summary="Replace a client",
    response_model=ClientRead,
    responses={**_one_client("the client as replaced"), **_NOT_FOUND, **_BODY_ERRORS, **_STALE},
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
    summary="Update a client with a JSON Merge Patch",
    response_model=ClientRead,
    responses={**_one_client("the client as updated"), **_NOT_FOUND, **_BODY_ERRORS, **_STALE},
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
    summary="Delete a client",
    responses={204: {"description": "deleted"}, **_NOT_FOUND, **_STALE},
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
    dependencies=[Depends(refuse_null_body)],
    summary="Rotate a client's secret",
    response_model=ClientWithSecret,
    responses={
        **_one_client("the client with its new secret, shown this once"),
        **_NOT_FOUND,
        **_BODY_ERRORS,
        **_STALE,
    },
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
    summary="Authenticate a client by its secret",
    response_model=ClientRead,
    responses={
        200: {"description": "the secret matches; the client"},
        401: problem("`invalid_client` for any failure, or a missing or invalid admin token"),
        **_BODY_ERRORS,
    },
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
    return authenticated_response(document)


def authenticated_response(document: str) -> Response:
    return Response(document, media_type="application/json")
