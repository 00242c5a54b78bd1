"""The HTTP contract of /v1/clients (API.md section 2), checked through HTTP only."""

import base64
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from builders import new_client, unique_name
from conftest import FakeClock, running_server, settings_for

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
DEFAULTS = {
    "grantTypes": ["authorization_code"],
    "responseTypes": ["code"],
    "responseModes": ["query"],
    "scopes": ["openid", "email", "profile", "offline_access"],
    "firstParty": False,
    "authMethods": ["client_secret_post", "client_secret_basic"],
}
# Every writable field set away from its default.
CUSTOM = {
    "redirect": ["https://a.example.com/cb", "http://localhost:8080/cb"],
    "grantTypes": ["authorization_code", "implicit", "refresh_token"],
    "responseTypes": ["code", "code id_token"],
    "responseModes": ["form_post"],
    "scopes": ["openid", "billing.read"],
    "firstParty": True,
    "authMethods": ["client_secret_basic"],
}
WRITABLE = ("name", *CUSTOM)
GIVEN_SECRET = "a-given-secret-of-more-than-32-printable-chars!"
REDIRECT = ["https://a.example.com/cb"]
CLIENT_OPERATIONS = {"createClient", "listClients", "getClient", "replaceClient"}
CLIENT_OPERATIONS |= {"updateClient", "deleteClient"}
LATER_OPERATIONS = {"rotateClientSecret", "authenticateClient", "listAuditEvents"}
JSON = {"Content-Type": "application/json"}


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    assert "Traceback" not in response.text
    return body


def error_fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in assert_problem(response, 422).get("errors") or []}


def assert_no_secret_material(body: dict) -> None:
    assert "secret" not in body
    assert not [key for key in body if "hash" in key.lower()], body
    assert "$pbkdf2" not in json.dumps(body)


def read(api: httpx.Client, client_id: object) -> httpx.Response:
    response = api.get(f"/v1/clients/{client_id}")
    assert response.status_code == 200, response.text
    return response


def named(api: httpx.Client, prefix: str, **params: object) -> list[dict]:
    """The clients whose name holds the prefix (one page of up to 200)."""
    response = api.get("/v1/clients", params={"name": prefix, "limit": 200, **params})
    assert response.status_code == 200, response.text
    items: list[dict] = response.json()["items"]
    return items


def next_link(response: httpx.Response) -> str | None:
    match = re.fullmatch(r'<([^>]+)>;\s*rel="next"', response.headers.get("link", ""))
    return match.group(1) if match else None


def post(api: httpx.Client, **fields: object) -> httpx.Response:
    return api.post("/v1/clients", json={"name": unique_name(), "redirect": REDIRECT, **fields})


def send(api: httpx.Client, method: str, client_id: object, **kwargs: Any) -> httpx.Response:
    return api.request(method, f"/v1/clients/{client_id}", **kwargs)


def body_for(method: str, client: dict) -> dict:
    """A valid body for PUT or PATCH that changes the client."""
    if method == "PUT":
        return {"name": f"{client['name']}-new", "redirect": client["redirect"]}
    return {"name": f"{client['name']}-new"}


# --- create -----------------------------------------------------------------
def test_create_answers_201_with_location_strong_etag_and_the_given_secret(api):
    response = post(api, secret=GIVEN_SECRET)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"].endswith(f"/v1/clients/{created['id']}")
    etag = response.headers["etag"]
    assert re.fullmatch(r'"[^"]+"', etag), "a strong ETag is a quoted string without W/"
    assert created["secret"] == GIVEN_SECRET
    got = read(api, created["id"])
    assert_no_secret_material(got.json())
    assert GIVEN_SECRET not in got.text
    assert got.headers["etag"] == etag


def test_create_generates_a_secret_and_applies_the_defaults(api):
    first, second = new_client(api), new_client(api)
    assert re.fullmatch(r"[\x21-\x7e]{32,}", first["secret"])
    assert first["secret"] != second["secret"]
    assert first["id"] != second["id"]
    assert {key: first[key] for key in DEFAULTS} == DEFAULTS
    assert first["previousSecretExpiresAt"] is None


def test_create_keeps_a_given_id_and_refuses_it_a_second_time(api):
    client_id = unique_name("given.id_~")
    created = new_client(api, id=client_id)
    assert created["id"] == client_id
    assert_problem(post(api, id=client_id, name="other"), 409, "conflict")
    assert read(api, client_id).json()["name"] == created["name"]


# --- get --------------------------------------------------------------------
def test_get_returns_the_client_with_an_etag_and_never_its_secret(api):
    created = new_client(api, secret=GIVEN_SECRET, **CUSTOM)
    got = read(api, created["id"])
    assert got.headers["etag"].startswith('"')
    body = got.json()
    assert_no_secret_material(body)
    assert {key: body[key] for key in WRITABLE} == {key: created[key] for key in WRITABLE}
    for stamp in ("createdAt", "updatedAt", "secretCreatedAt"):
        assert re.search(r"(Z|[+-]00:00)$", body[stamp]), body[stamp]
        datetime.fromisoformat(body[stamp])


# --- PUT --------------------------------------------------------------------
def test_put_replaces_every_writable_field(api):
    created = new_client(api)
    before = read(api, created["id"]).headers["etag"]
    replacement = {"name": unique_name("replaced"), **CUSTOM}
    response = api.put(f"/v1/clients/{created['id']}", json=replacement)
    assert response.status_code == 200, response.text
    assert_no_secret_material(response.json())
    stored = read(api, created["id"]).json()
    assert {key: stored[key] for key in WRITABLE} == replacement
    assert response.headers["etag"] != before


def test_put_returns_omitted_optional_fields_to_their_defaults(api):
    created = new_client(api, **CUSTOM)
    response = api.put(
        f"/v1/clients/{created['id']}", json={"name": "plain", "redirect": CUSTOM["redirect"]}
    )
    assert response.status_code == 200, response.text
    stored = read(api, created["id"]).json()
    assert {key: stored[key] for key in DEFAULTS} == DEFAULTS
    assert stored["name"] == "plain"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_get_body_sent_back_whole_is_accepted_and_read_only_fields_ignored(api, method):
    created = new_client(api)
    body = read(api, created["id"]).json()
    body["name"] = "read, changed, sent back"
    body["createdAt"] = "2000-01-01T00:00:00Z"
    body["secretCreatedAt"] = "not even a date"
    body["previousSecretExpiresAt"] = 12
    response = send(api, method, created["id"], json=body)
    assert response.status_code == 200, response.text
    stored = read(api, created["id"]).json()
    assert stored["name"] == "read, changed, sent back"
    assert stored["createdAt"] == created["createdAt"]
    assert stored["secretCreatedAt"] == created["secretCreatedAt"]
    assert stored["previousSecretExpiresAt"] is None


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_an_id_other_than_the_path_is_a_422_naming_id(api, method):
    created = new_client(api)
    etag = read(api, created["id"]).headers["etag"]
    response = send(api, method, created["id"], json={**body_for(method, created), "id": "other"})
    assert "id" in error_fields(response)
    assert read(api, created["id"]).headers["etag"] == etag


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_secret_is_a_422_naming_secret_and_pointing_to_rotate_secret(api, method):
    created = new_client(api)
    etag = read(api, created["id"]).headers["etag"]
    body = {**body_for(method, created), "secret": GIVEN_SECRET}
    response = send(api, method, created["id"], json=body)
    assert "secret" in error_fields(response)
    assert "rotate-secret" in response.text
    assert GIVEN_SECRET not in response.text
    assert read(api, created["id"]).headers["etag"] == etag


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_an_unknown_id_is_a_404_problem(api, method):
    kwargs = {"json": {"name": "x", "redirect": REDIRECT}} if method in ("PUT", "PATCH") else {}
    assert_problem(send(api, method, "no-such-client", **kwargs), 404, "not_found")


# --- PATCH ------------------------------------------------------------------
@pytest.mark.parametrize("media_type", ["application/merge-patch+json", "application/json"])
def test_patch_replaces_sent_fields_and_keeps_omitted_ones(api, media_type):
    created = new_client(api, **CUSTOM)
    patch = {"name": "patched", "scopes": ["email"], "firstParty": False}
    response = api.patch(
        f"/v1/clients/{created['id']}",
        content=json.dumps(patch),
        headers={"Content-Type": media_type},
    )
    assert response.status_code == 200, response.text
    stored = read(api, created["id"]).json()
    assert response.json() == stored
    assert {key: stored[key] for key in patch} == patch
    kept = set(WRITABLE) - set(patch)
    assert {key: stored[key] for key in kept} == {key: created[key] for key in kept}


def test_patch_null_resets_fields_to_their_defaults(api):
    created = new_client(api, **CUSTOM)
    resets = ["grantTypes", "responseTypes", "responseModes", "scopes", "firstParty", "authMethods"]
    response = api.patch(
        f"/v1/clients/{created['id']}",
        json=dict.fromkeys(resets),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    stored = read(api, created["id"]).json()
    assert {key: stored[key] for key in DEFAULTS} == DEFAULTS
    assert stored["redirect"] == CUSTOM["redirect"]
    assert stored["name"] == created["name"]


def test_patch_changes_updated_at_and_not_created_at(api):
    created = new_client(api)
    response = api.patch(f"/v1/clients/{created['id']}", json={"name": "later"})
    assert response.status_code == 200, response.text
    stored = read(api, created["id"]).json()
    assert stored["createdAt"] == created["createdAt"]
    assert datetime.fromisoformat(stored["updatedAt"]) > datetime.fromisoformat(
        created["updatedAt"]
    )


def test_a_patch_leaving_the_client_inconsistent_is_a_422_and_changes_nothing(api):
    created = new_client(api)  # authorization_code with responseTypes ["code"]
    before = read(api, created["id"])
    response = api.patch(
        f"/v1/clients/{created['id']}", json={"grantTypes": ["client_credentials"], "name": "no"}
    )
    assert error_fields(response) & {"grantTypes", "responseTypes", "responseTypes[0]"}
    after = read(api, created["id"])
    assert after.headers["etag"] == before.headers["etag"]
    assert after.json() == before.json()


# --- DELETE -----------------------------------------------------------------
def test_delete_answers_204_then_the_client_is_gone(api):
    created = new_client(api)
    response = api.delete(f"/v1/clients/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(api.get(f"/v1/clients/{created['id']}"), 404, "not_found")
    assert_problem(api.delete(f"/v1/clients/{created['id']}"), 404, "not_found")


# --- ETags ------------------------------------------------------------------
def test_the_etag_changes_on_every_change(api):
    created = post(api, name="v1")
    client_id = created.json()["id"]
    tags = [created.headers["etag"]]
    tags.append(api.put(f"/v1/clients/{client_id}", json={"name": "v2", **CUSTOM}).headers["etag"])
    tags.append(api.patch(f"/v1/clients/{client_id}", json={"name": "v3"}).headers["etag"])
    tags.append(api.patch(f"/v1/clients/{client_id}", json={"firstParty": False}).headers["etag"])
    assert len(set(tags)) == len(tags)
    assert read(api, client_id).headers["etag"] == tags[-1]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_stale_if_match_is_412_and_changes_nothing(api, method):
    created = new_client(api)
    stale = read(api, created["id"]).headers["etag"]
    api.patch(f"/v1/clients/{created['id']}", json={"name": "moved on"}).raise_for_status()
    current = read(api, created["id"])
    kwargs = {} if method == "DELETE" else {"json": body_for(method, created)}
    response = send(api, method, created["id"], headers={"If-Match": stale}, **kwargs)
    assert_problem(response, 412, "precondition_failed")
    after = read(api, created["id"])
    assert after.headers["etag"] == current.headers["etag"]
    assert after.json() == current.json()


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_the_current_if_match_succeeds(api, method):
    created = new_client(api)
    current = read(api, created["id"]).headers["etag"]
    kwargs = {} if method == "DELETE" else {"json": body_for(method, created)}
    response = send(api, method, created["id"], headers={"If-Match": current}, **kwargs)
    assert response.status_code == (204 if method == "DELETE" else 200), response.text
    if method != "DELETE":
        assert response.json()["name"] == f"{created['name']}-new"
        assert response.headers["etag"] != current


def test_if_none_match_answers_304_when_current_and_200_when_stale(api):
    created = new_client(api)
    stale = read(api, created["id"]).headers["etag"]
    unchanged = api.get(f"/v1/clients/{created['id']}", headers={"If-None-Match": stale})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    api.patch(f"/v1/clients/{created['id']}", json={"name": "changed"}).raise_for_status()
    changed = api.get(f"/v1/clients/{created['id']}", headers={"If-None-Match": stale})
    assert changed.status_code == 200
    assert changed.json()["name"] == "changed"
    assert changed.headers["etag"] != stale


# --- list -------------------------------------------------------------------
def test_the_list_has_items_and_next_cursor_with_a_default_limit_of_50(api):
    prefix = unique_name("default-limit")
    ids = [new_client(api, name=f"{prefix}-{n:02d}")["id"] for n in reversed(range(51))]
    first = api.get("/v1/clients", params={"name": prefix})
    assert first.status_code == 200
    page = first.json()
    assert set(page) == {"items", "nextCursor"}
    assert [item["id"] for item in page["items"]] == ids[:50]
    assert all("secret" not in item for item in page["items"])
    assert page["nextCursor"] is not None
    rest = api.get("/v1/clients", params={"name": prefix, "cursor": page["nextCursor"]})
    assert [item["id"] for item in rest.json()["items"]] == ids[50:]
    assert rest.json()["nextCursor"] is None
    assert [item["id"] for item in named(api, prefix, limit=1)] == ids[:1]
    assert [item["id"] for item in named(api, prefix, limit=200)] == ids


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten", "1.5"])
def test_a_limit_outside_1_to_200_is_a_422_naming_limit(api, limit):
    assert "limit" in error_fields(api.get("/v1/clients", params={"limit": limit}))


@pytest.mark.parametrize(
    "cursor",
    ["not a cursor", "!!!", base64.urlsafe_b64encode(b"v1:abc").decode(), "djE6LTE"],
)
def test_an_invalid_cursor_is_a_422_naming_cursor(api, cursor):
    assert "cursor" in error_fields(api.get("/v1/clients", params={"cursor": cursor}))


def test_the_link_header_is_present_exactly_with_a_next_cursor_and_leads_to_the_next_page(api):
    prefix = unique_name("linked")
    ids = [new_client(api, name=f"{prefix}-{n}")["id"] for n in range(5)]
    seen: list[str] = []
    url: str | None = f"/v1/clients?name={prefix}&limit=2"
    for _ in range(10):
        if url is None:
            break
        response = api.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        link = next_link(response)
        assert (link is None) == (page["nextCursor"] is None), response.headers
        seen += [item["id"] for item in page["items"]]
        url = link
    assert url is None, "the walk did not end"
    assert seen == ids


def test_the_name_filter_is_a_case_insensitive_substring(api):
    prefix = unique_name("CaseMix")
    wanted = new_client(api, name=f"The {prefix} Portal")
    new_client(api, name=f"{prefix[:-1]}")  # shares all but the last character
    for needle in (prefix, prefix.lower(), prefix.upper(), f"e {prefix.swapcase()} p"):
        assert [item["id"] for item in named(api, needle)] == [wanted["id"]], needle


def test_the_name_filter_takes_percent_and_underscore_literally(api):
    prefix = unique_name("literal")
    percent = new_client(api, name=f"{prefix} 100%")
    new_client(api, name=f"{prefix} 1000")
    underscore = new_client(api, name=f"{prefix} a_b")
    new_client(api, name=f"{prefix} axb")
    assert [item["id"] for item in named(api, f"{prefix} 100%")] == [percent["id"]]
    assert [item["id"] for item in named(api, f"{prefix} a_b")] == [underscore["id"]]
    assert named(api, f"{prefix}%") == []
    assert named(api, f"{prefix}_") == []


def test_the_grant_type_scope_and_first_party_filters(api):
    prefix = unique_name("filtered")
    machine_fields = {"grantTypes": ["client_credentials"], "scopes": ["billing.read"]}
    machine = new_client(api, name=f"{prefix}-m", redirect=[], firstParty=True, **machine_fields)
    web = new_client(api, name=f"{prefix}-web")

    def ids(**params: object) -> list[object]:
        return [item["id"] for item in named(api, prefix, **params)]

    assert ids() == [machine["id"], web["id"]]
    assert ids(grantType="client_credentials") == [machine["id"]]
    assert ids(grantType="authorization_code") == [web["id"]]
    assert ids(grantType="implicit") == []
    assert ids(scope="billing.read") == [machine["id"]]
    assert ids(scope="openid") == [web["id"]]
    assert ids(scope="billing") == []
    assert ids(firstParty="true") == [machine["id"]]
    assert ids(firstParty="false") == [web["id"]]


def test_a_walk_while_others_write_returns_every_stable_client_once_in_order(api):
    prefix = unique_name("walk")
    created: list[str] = []  # every id with the prefix, in creation order
    stable: list[str] = []
    doomed: list[str] = []
    for n in range(8):
        stable.append(new_client(api, name=f"{prefix}-stable-{n}")["id"])
        doomed.append(new_client(api, name=f"{prefix}-doomed-{n}")["id"])
        created += [stable[-1], doomed[-1]]
    seen: list[str] = []
    cursor: str | None = None
    for page_number in range(40):
        params = {"name": prefix, "limit": 3, **({"cursor": cursor} if cursor else {})}
        response = api.get("/v1/clients", params=params)
        assert response.status_code == 200, response.text
        seen += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["nextCursor"]
        if cursor is None:
            break
        # Between pages: one doomed client goes (alternately seen or not yet
        # seen) and a new client arrives.
        victim = doomed.pop(0 if page_number % 2 else -1)
        assert api.delete(f"/v1/clients/{victim}").status_code == 204
        created.append(new_client(api, name=f"{prefix}-new-{page_number}")["id"])
    assert cursor is None, "the walk did not end"
    assert len(seen) == len(set(seen)), "a client was listed twice"
    assert [client_id for client_id in seen if client_id in stable] == stable
    assert seen == sorted(seen, key=created.index), "the walk left creation order"


# --- bodies -----------------------------------------------------------------
def body_target(api: httpx.Client, method: str) -> tuple[str, str, Any]:
    """A path for a body, a name to send, and a check that nothing changed."""
    client = new_client(api)
    etag = read(api, client["id"]).headers["etag"]
    name = unique_name(f"refused-{method}")

    def unchanged() -> None:
        assert named(api, name) == []
        assert read(api, client["id"]).headers["etag"] == etag

    return ("/v1/clients" if method == "POST" else f"/v1/clients/{client['id']}"), name, unchanged


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("chunked", [False, True], ids=["sized", "chunked"])
def test_a_body_over_64_kib_is_413_and_changes_nothing(api, method, chunked):
    path, name, unchanged = body_target(api, method)
    body = {"name": name, "redirect": REDIRECT, "scopes": [f"s{n:05d}" for n in range(12_000)]}
    raw = json.dumps(body).encode()
    assert len(raw) > 64 * 1024
    content: Any = iter([raw[i : i + 8192] for i in range(0, len(raw), 8192)]) if chunked else raw
    response = api.request(method, path, content=content, headers=JSON)
    assert_problem(response, 413, "payload_too_large")
    unchanged()


def test_a_body_of_exactly_64_kib_is_not_refused_as_too_large(api):
    head, tail = b'{"name": "', b'", "redirect": ["https://a.example.com/cb"]}'
    raw = head + b"x" * (64 * 1024 - len(head) - len(tail)) + tail
    response = api.post("/v1/clients", content=raw, headers=JSON)
    assert "name" in error_fields(response)  # too long a name, but read and judged


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_a_body_that_is_not_json_is_415_and_changes_nothing(api, method, content_type):
    path, name, unchanged = body_target(api, method)
    request = api.build_request(method, path, json={"name": name, "redirect": REDIRECT})
    del request.headers["content-type"]
    if content_type is not None:
        request.headers["content-type"] = content_type
    assert_problem(api.send(request), 415)
    unchanged()


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_malformed_json_is_400_and_changes_nothing(api, method):
    path, name, unchanged = body_target(api, method)
    raw = f'{{"name": "{name}", "redirect": ['.encode()
    assert_problem(api.request(method, path, content=raw, headers=JSON), 400)
    unchanged()


# --- errors, health, OpenAPI, docs ------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/nothing-here", 404),
        ("GET", "/no/such/route", 404),
        ("GET", "/v1/clients/a/b/c", 404),
        ("DELETE", "/v1/clients", 405),
        ("PUT", "/v1/clients", 405),
        ("POST", "/healthz", 405),
    ],
)
def test_unknown_routes_and_wrong_methods_are_problems(api, method, path, status):
    assert_problem(api.request(method, path), status)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_answers_200_without_a_token(service, path):
    assert service.anonymous().get(path).status_code == 200


def test_openapi_has_one_operation_id_per_client_operation(service):
    document = service.anonymous().get("/openapi.json").json()
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)), "operationIds repeat"
    client_ids = {
        op["operationId"]
        for path, ops in document["paths"].items()
        if path.startswith("/v1/")
        for op in ops.values()
    }
    assert CLIENT_OPERATIONS <= client_ids <= CLIENT_OPERATIONS | LATER_OPERATIONS


def test_openapi_error_responses_use_the_problem_schema(service):
    document = service.anonymous().get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status[0] not in "45":
                    continue
                content = answer.get("content", {})
                assert set(content) == {"application/problem+json"}, (path, method, status)
                ref = content["application/problem+json"]["schema"]["$ref"]
                schema = schemas[ref.rsplit("/", 1)[-1]]
                assert schema["properties"].keys() >= PROBLEM_KEYS
                checked += 1
    assert checked >= 6


def test_docs_work_without_another_host(service):
    client = service.anonymous()
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    own_host = urlsplit(service.url).netloc
    for url in re.findall(r"https?://[^\s\"'<>)]+", page.text):
        assert urlsplit(url).netloc == own_host, url
    assets = re.findall(r"<(?:script|link)\b[^>]*?\b(?:src|href)=[\"']([^\"']+)", page.text)
    assert any(url.endswith(".js") for url in assets)
    assert any(url.endswith(".css") for url in assets)
    for url in assets:
        assert client.get(url).status_code == 200, url


# --- CORS -------------------------------------------------------------------

ORIGIN = "https://admin.example.com"


def test_no_cors_headers_by_default(api):
    response = api.get("/v1/clients", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = api.options(
        "/v1/clients",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_for_a_configured_origin(database, service):
    settings = settings_for(database, cors_origins=[ORIGIN])
    with running_server(settings, FakeClock()) as url, httpx.Client(base_url=url) as client:
        headers = {"Authorization": f"Bearer {service.token}", "Origin": ORIGIN}
        created = client.post(
            "/v1/clients", json={"name": unique_name("cors"), "redirect": REDIRECT}, headers=headers
        )
        assert created.status_code == 201, created.text
        preflight = client.options(
            f"/v1/clients/{created.json()['id']}",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization, content-type, if-match",
            },
        )
        assert preflight.status_code in (200, 204), preflight.text
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert "PATCH" in preflight.headers["access-control-allow-methods"]
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "if-match"} <= set(re.split(r",\s*", allowed))
        for response in (created, client.get("/v1/clients?limit=1", headers=headers)):
            assert response.headers["access-control-allow-origin"] == ORIGIN
            exposed = response.headers["access-control-expose-headers"].lower()
            assert {"etag", "location", "link"} <= set(re.split(r",\s*", exposed))
        stranger = client.get("/v1/clients", headers={**headers, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers
