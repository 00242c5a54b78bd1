"""Admin access through HTTP (API.md section 4): who may call which operation.

Every /v1 operation is tried without a token, with tokens that are not valid
(wrong, other scheme, revoked), with tokens that lack the operation's scope and
with tokens that hold it. A refused call must change nothing.
"""

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from builders import new_client, unique_name
from client_registry.tables import AdminTokenRow
from client_registry.tokens import token_digest
from conftest import on_database

READ = "clients:read"
WRITE = "clients:write"
AUTHENTICATE = "clients:authenticate"
ALL = (READ, WRITE, AUTHENTICATE)
PROBLEM_JSON = "application/problem+json"
# The plaintext secret of each client the tests created, for the authenticate call.
SECRETS: dict[str, str] = {}


def _create(http: httpx.Client, _client_id: str) -> httpx.Response:
    body = {"name": unique_name("created"), "redirect": ["https://created.example.com/cb"]}
    return http.post("/v1/clients", json=body)


def _list(http: httpx.Client, _client_id: str) -> httpx.Response:
    return http.get("/v1/clients")


def _get(http: httpx.Client, client_id: str) -> httpx.Response:
    return http.get(f"/v1/clients/{client_id}")


def _replace(http: httpx.Client, client_id: str) -> httpx.Response:
    body = {"name": "Replaced by the test", "redirect": ["https://replaced.example.com/cb"]}
    return http.put(f"/v1/clients/{client_id}", json=body)


def _update(http: httpx.Client, client_id: str) -> httpx.Response:
    return http.patch(
        f"/v1/clients/{client_id}",
        json={"name": "Patched by the test"},
        headers={"Content-Type": "application/merge-patch+json"},
    )


def _delete(http: httpx.Client, client_id: str) -> httpx.Response:
    return http.delete(f"/v1/clients/{client_id}")


def _authenticate(http: httpx.Client, client_id: str) -> httpx.Response:
    """The authorization server's check, with the client's right secret."""
    body = {"secret": SECRETS[client_id], "method": "client_secret_post"}
    return http.post(f"/v1/clients/{client_id}/authenticate", json=body)


def _rotate(http: httpx.Client, client_id: str) -> httpx.Response:
    return http.post(f"/v1/clients/{client_id}/rotate-secret", json={"gracePeriodSeconds": 60})


Call = Callable[[httpx.Client, str], httpx.Response]

# operationId -> (the call, the scope it needs, its success status)
OPERATIONS: dict[str, tuple[Call, str, int]] = {
    "createClient": (_create, WRITE, 201),
    "listClients": (_list, READ, 200),
    "getClient": (_get, READ, 200),
    "replaceClient": (_replace, WRITE, 200),
    "updateClient": (_update, WRITE, 200),
    "deleteClient": (_delete, WRITE, 204),
    "rotateClientSecret": (_rotate, WRITE, 200),
    "authenticateClient": (_authenticate, AUTHENTICATE, 200),
}
CRUD = [op for op in OPERATIONS if op not in ("rotateClientSecret", "authenticateClient")]

SCOPE_SETS: list[tuple[str, ...]] = [
    (READ,),
    (WRITE,),
    (AUTHENTICATE,),
    (READ, AUTHENTICATE),
    (WRITE, AUTHENTICATE),
    (READ, WRITE),
    ALL,
]

FORBIDDEN = [
    pytest.param(op, scopes, id=f"{op}-{'+'.join(scopes)}")
    for op, (_call, needed, _status) in OPERATIONS.items()
    for scopes in SCOPE_SETS
    if needed not in scopes
]
ALLOWED = [
    pytest.param(op, scopes, id=f"{op}-{'+'.join(scopes)}")
    for op, (_call, needed, _status) in OPERATIONS.items()
    for scopes in SCOPE_SETS
    if needed in scopes
]


@pytest.fixture(scope="module")
def tokens(service: Any) -> dict[tuple[str, ...], str]:
    """One token for each set of scopes, minted once per module."""
    return {scopes: service.mint_token(*scopes) for scopes in SCOPE_SETS}


@pytest.fixture
def target(api: httpx.Client) -> dict[str, Any]:
    """An existing client for the calls on one client to aim at."""
    created = new_client(api)
    SECRETS[str(created["id"])] = str(created["secret"])
    return created


def _with_authorization(service: Any, value: str) -> httpx.Client:
    http = service.anonymous()
    http.headers["Authorization"] = value
    return http


def _all_clients(api: httpx.Client) -> list[tuple[str, str, str]]:
    """Every stored client as (id, name, updatedAt), following every page."""
    seen: list[tuple[str, str, str]] = []
    params: dict[str, Any] = {"limit": 200}
    for _ in range(1000):
        page = api.get("/v1/clients", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        seen.extend((c["id"], c["name"], c["updatedAt"]) for c in body["items"])
        if not body["nextCursor"]:
            return seen
        params = {"limit": 200, "cursor": body["nextCursor"]}
    raise AssertionError("the client list never ended")


def _assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert "detail" in body
    return body


def _assert_unauthorized(response: httpx.Response) -> None:
    _assert_problem(response, 401, "unauthorized")
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.split()[:1] == ["Bearer"], challenge


def _assert_denied_without_effect(
    api: httpx.Client, op: str, http: httpx.Client, target: dict[str, Any]
) -> httpx.Response:
    """Make the call with `http`, then check with the admin token that nothing changed."""
    before = _all_clients(api)
    target_before = api.get(f"/v1/clients/{target['id']}")
    assert target_before.status_code == 200
    call, _scope, _status = OPERATIONS[op]
    response = call(http, str(target["id"]))
    assert _all_clients(api) == before, f"a refused {op} changed the stored clients"
    target_after = api.get(f"/v1/clients/{target['id']}")
    assert target_after.status_code == 200, f"a refused {op} removed the client"
    assert target_after.json() == target_before.json()
    assert target_after.headers["etag"] == target_before.headers["etag"]
    return response


# -- 401: no usable token -----------------------------------------------------


@pytest.mark.parametrize("op", OPERATIONS)
def test_no_authorization_header_is_401(service, api, target, op):
    response = _assert_denied_without_effect(api, op, service.anonymous(), target)
    _assert_unauthorized(response)


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(
            lambda _token: "Bearer crat_thisIsNotATokenTheServiceEverIssued0000", id="unknown-crat"
        ),
        pytest.param(lambda _token: "Bearer not-a-token", id="garbage"),
        pytest.param(lambda token: f"Bearer {token}x", id="valid-token-plus-a-char"),
        pytest.param(lambda token: f"Bearer {token[:-1]}", id="valid-token-minus-a-char"),
        pytest.param(lambda _token: "Bearer", id="scheme-only"),
    ],
)
def test_wrong_token_is_401(service, api, target, op, make_header):
    header = make_header(service.token)
    http = _with_authorization(service, header)
    response = _assert_denied_without_effect(api, op, http, target)
    _assert_unauthorized(response)
    presented = header.removeprefix("Bearer").strip()
    if presented:
        assert presented not in response.text, "the error echoes the presented token"


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(
            lambda token: "Basic " + base64.b64encode(f"admin:{token}".encode()).decode(),
            id="basic-with-token-as-password",
        ),
        pytest.param(lambda token: f"Basic {token}", id="basic-with-raw-token"),
        pytest.param(lambda token: f"Token {token}", id="token-scheme"),
        pytest.param(lambda token: token, id="no-scheme"),
    ],
)
def test_non_bearer_scheme_is_401_even_with_a_valid_token(service, api, target, op, make_header):
    http = _with_authorization(service, make_header(service.token))
    response = _assert_denied_without_effect(api, op, http, target)
    _assert_unauthorized(response)


@pytest.mark.parametrize("op", OPERATIONS)
def test_revoked_token_is_401(service, api, target, op):
    from client_registry.tokens import revoke_token

    token = service.mint_token(*ALL)
    http = service.client(token)
    assert http.get("/v1/clients").status_code == 200, "the fresh token should work first"
    with service.engine.connect() as conn:
        token_id = conn.execute(
            select(AdminTokenRow.id).where(AdminTokenRow.digest == token_digest(token))
        ).scalar_one()
    assert on_database(service.database, lambda db: revoke_token(db, token_id=token_id))

    response = _assert_denied_without_effect(api, op, http, target)
    _assert_unauthorized(response)
    # Revoking one token leaves the others working.
    assert api.get("/v1/clients").status_code == 200


def test_missing_token_is_checked_before_the_client_exists(service):
    """Without a token nobody learns whether a client id exists."""
    anonymous = service.anonymous()
    for response in (
        anonymous.get("/v1/clients/no-such-client"),
        anonymous.put("/v1/clients/no-such-client", json={"name": "x"}),
        anonymous.patch("/v1/clients/no-such-client", json={"name": "x"}),
        anonymous.delete("/v1/clients/no-such-client"),
        anonymous.post("/v1/clients/no-such-client/rotate-secret"),
        anonymous.post(
            "/v1/clients/no-such-client/authenticate",
            json={"secret": "x" * 40, "method": "client_secret_post"},
        ),
    ):
        _assert_unauthorized(response)


def test_missing_token_is_checked_before_the_body_is_validated(service):
    """An invalid body from an anonymous caller is a 401, not a 422 that reveals the rules."""
    response = service.anonymous().post(
        "/v1/clients", json={"name": "", "redirect": ["javascript:alert(1)"], "bogus": True}
    )
    _assert_unauthorized(response)


# -- 403: a valid token without the operation's scope --------------------------


@pytest.mark.parametrize(("op", "scopes"), FORBIDDEN)
def test_token_without_the_scope_is_403(service, api, tokens, target, op, scopes):
    http = service.client(tokens[scopes])
    response = _assert_denied_without_effect(api, op, http, target)
    body = _assert_problem(response, 403, "forbidden")
    assert tokens[scopes] not in response.text
    assert "errors" not in body or body["errors"]


@pytest.mark.parametrize("op", CRUD)
def test_authenticate_scope_alone_opens_none_of_these(service, api, tokens, target, op):
    http = service.client(tokens[(AUTHENTICATE,)])
    response = _assert_denied_without_effect(api, op, http, target)
    _assert_problem(response, 403, "forbidden")


def test_missing_scope_is_checked_before_the_client_exists(service, tokens):
    reader = service.client(tokens[(READ,)])
    writer = service.client(tokens[(WRITE,)])
    _assert_problem(writer.get("/v1/clients/no-such-client"), 403, "forbidden")
    _assert_problem(reader.delete("/v1/clients/no-such-client"), 403, "forbidden")
    _assert_problem(reader.put("/v1/clients/no-such-client", json={"name": "x"}), 403, "forbidden")
    _assert_problem(
        reader.patch("/v1/clients/no-such-client", json={"name": "x"}), 403, "forbidden"
    )
    _assert_problem(reader.post("/v1/clients/no-such-client/rotate-secret"), 403, "forbidden")
    _assert_problem(
        writer.post(
            "/v1/clients/no-such-client/authenticate",
            json={"secret": "x" * 40, "method": "client_secret_post"},
        ),
        403,
        "forbidden",
    )


# -- success: the scope opens the operation -----------------------------------


@pytest.mark.parametrize(("op", "scopes"), ALLOWED)
def test_token_with_the_scope_succeeds(service, api, tokens, target, op, scopes):
    call, _scope, status = OPERATIONS[op]
    target_etag = api.get(f"/v1/clients/{target['id']}").headers["etag"]
    response = call(service.client(tokens[scopes]), str(target["id"]))
    assert response.status_code == status, response.text
    after = api.get(f"/v1/clients/{target['id']}")
    if op == "createClient":
        created = response.json()
        assert api.get(f"/v1/clients/{created['id']}").json()["name"] == created["name"]
    elif op == "listClients":
        items = response.json()["items"]
        assert items, "the list is empty although clients exist"
        assert all("secret" not in item for item in items)
    elif op == "getClient":
        assert response.json()["id"] == target["id"]
        assert response.json()["name"] == target["name"]
    elif op == "replaceClient":
        assert after.json()["name"] == "Replaced by the test"
        assert after.json()["redirect"] == ["https://replaced.example.com/cb"]
    elif op == "updateClient":
        assert after.json()["name"] == "Patched by the test"
    elif op == "deleteClient":
        assert after.status_code == 404
    elif op == "rotateClientSecret":
        assert response.json()["secret"] != target["secret"]
        assert after.headers["etag"] != target_etag
    elif op == "authenticateClient":
        assert response.json()["id"] == target["id"]
        assert "secret" not in response.json()


def test_authenticate_with_a_wrong_secret_is_invalid_client_not_a_scope_error(
    service, tokens, target
):
    """With the scope, the admin check passes and the client check answers."""
    http = service.client(tokens[(AUTHENTICATE,)])
    response = http.post(
        f"/v1/clients/{target['id']}/authenticate",
        json={"secret": "wrong-" + "x" * 40, "method": "client_secret_post"},
    )
    _assert_problem(response, 401, "invalid_client")


def test_lowercase_bearer_scheme_is_accepted(service, tokens):
    """Authentication schemes are case-insensitive (RFC 9110 section 11.1)."""
    http = _with_authorization(service, f"bearer {tokens[(READ,)]}")
    assert http.get("/v1/clients").status_code == 200


# -- no token needed ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs"])
def test_public_paths_need_no_token(service, path):
    response = service.anonymous().get(path)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json"])
def test_public_paths_ignore_a_bad_token(service, path):
    response = _with_authorization(service, "Bearer not-a-token").get(path)
    assert response.status_code == 200, response.text


def test_openapi_declares_bearer_security_and_the_401_and_403_answers(service):
    document = service.anonymous().get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert any(
        s.get("type") == "http" and s.get("scheme", "").lower() == "bearer"
        for s in schemes.values()
    )
    for path, operations in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            assert operation.get("security"), f"{method.upper()} {path} declares no security"
            assert "401" in operation["responses"], f"{method.upper()} {path} lacks its 401"
            assert "403" in operation["responses"], f"{method.upper()} {path} lacks its 403"
