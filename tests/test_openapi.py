"""The OpenAPI document is good enough for generated SDKs (API.md section 2),
HEAD and 405 behave, and the response check of conftest catches drift."""

from typing import Any

import httpx
import pytest

from builders import new_client
from client_registry import validation as rules
from openapi_check import ResponseChecker

REF = "#/components/schemas/"
OPERATIONS = {
    ("post", "/v1/clients"): "createClient",
    ("get", "/v1/clients"): "listClients",
    ("get", "/v1/clients/{client_id}"): "getClient",
    ("put", "/v1/clients/{client_id}"): "replaceClient",
    ("patch", "/v1/clients/{client_id}"): "updateClient",
    ("delete", "/v1/clients/{client_id}"): "deleteClient",
    ("post", "/v1/clients/{client_id}/rotate-secret"): "rotateClientSecret",
    ("post", "/v1/clients/{client_id}/authenticate"): "authenticateClient",
}


@pytest.fixture(scope="module")
def document(service) -> dict[str, Any]:
    response = service.anonymous().get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def operation(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for (method, path), known in OPERATIONS.items():
        if known == operation_id:
            return document["paths"][path][method]  # type: ignore[no-any-return]
    raise KeyError(operation_id)


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]  # type: ignore[no-any-return]


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    return schema(document, node["$ref"].removeprefix(REF)) if "$ref" in node else node


# --- types -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("GrantType", rules.GRANT_TYPES),
        ("ResponseMode", rules.RESPONSE_MODES),
        ("AuthMethod", rules.AUTH_METHODS),
        (
            "ResponseType",
            {"code", "token", "id_token", "code id_token", "code token", "id_token token"}
            | {"code id_token token", "none"},
        ),
    ],
)
def test_fixed_value_sets_are_named_enums(document, name, values):
    assert set(schema(document, name)["enum"]) == set(values)
    assert schema(document, name)["type"] == "string"


@pytest.mark.parametrize(
    ("model", "field", "enum"),
    [
        ("ClientCreate", "grantTypes", "GrantType"),
        ("ClientCreate", "responseTypes", "ResponseType"),
        ("ClientCreate", "responseModes", "ResponseMode"),
        ("ClientCreate", "authMethods", "AuthMethod"),
        ("ClientPatch", "grantTypes", "GrantType"),
        ("ClientRead", "grantTypes", "GrantType"),
        ("ClientRead", "authMethods", "AuthMethod"),
    ],
)
def test_array_fields_hold_the_named_enums(document, model, field, enum):
    prop = schema(document, model)["properties"][field]
    items = next(option for option in prop.get("anyOf", [prop]) if option.get("type") == "array")
    assert items["items"] == {"$ref": REF + enum}
    if model != "ClientRead":
        assert items["maxItems"] == rules.MAX_ITEMS


def test_authenticate_method_is_the_auth_method_enum(document):
    assert schema(document, "AuthenticateClient")["properties"]["method"] == {
        "$ref": REF + "AuthMethod"
    }


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ("ClientCreate", "id"),
        ("ClientCreate", "secret"),
        ("ClientReplace", "id"),
        ("ClientPatch", "id"),
        ("RotateSecret", "secret"),
        ("ClientRead", "id"),
        ("ClientWithSecret", "secret"),
    ],
)
def test_id_and_secret_are_never_nullable(document, model, field):
    prop = schema(document, model)["properties"][field]
    assert prop["type"] == "string"
    assert "anyOf" not in prop
    assert "null" not in str(prop.get("type"))


def test_patterns_and_lengths_are_stated(document):
    create = schema(document, "ClientCreate")["properties"]
    assert create["id"]["pattern"] == r"^(?!\.\.?$)[A-Za-z0-9._~-]{1,128}$"
    assert (create["id"]["minLength"], create["id"]["maxLength"]) == (1, 128)
    assert (create["secret"]["minLength"], create["secret"]["maxLength"]) == (32, 512)
    assert (create["name"]["minLength"], create["name"]["maxLength"]) == (1, 200)
    assert create["redirect"]["items"]["maxLength"] == 2048
    assert create["scopes"]["items"]["pattern"] == r"^[!#-\[\]-~]{1,128}$"
    for field in ("redirect", "grantTypes", "responseTypes", "responseModes", "scopes"):
        assert create[field]["maxItems"] == 100, field
    rotate = schema(document, "RotateSecret")["properties"]["gracePeriodSeconds"]
    assert (rotate["minimum"], rotate["maximum"]) == (0, 2_592_000)


def test_titles_read_as_english(document):
    create = schema(document, "ClientCreate")["properties"]
    assert create["grantTypes"]["title"] == "Grant types"
    assert create["firstParty"]["title"] == "First party"
    titles = str(document)
    for squashed in ("Granttypes", "Firstparty", "Authmethods", "Createclient"):
        assert squashed not in titles


def test_summaries_are_english_sentences(document):
    for (method, path), operation_id in OPERATIONS.items():
        summary = document["paths"][path][method]["summary"]
        assert " " in summary, (operation_id, summary)
        assert summary.lower() != operation_id.lower()
    assert operation(document, "rotateClientSecret")["summary"] == "Rotate a client's secret"


# --- bodies --------------------------------------------------------------------
def test_every_request_body_has_an_example(document):
    bodies = 0
    for ops in document["paths"].values():
        for op in ops.values():
            for media in op.get("requestBody", {}).get("content", {}).values():
                body = resolve(document, media["schema"])
                assert media.get("example") or body.get("examples"), op["operationId"]
                bodies += 1
    assert bodies >= 5


def test_rotate_body_is_a_plain_optional_object(document):
    body = operation(document, "rotateClientSecret")["requestBody"]
    assert body["required"] is False
    assert body["content"] == {"application/json": {"schema": {"$ref": REF + "RotateSecret"}}}


def test_patch_names_one_body_type(document):
    body = operation(document, "updateClient")["requestBody"]
    assert body["content"] == {
        "application/merge-patch+json": {"schema": {"$ref": REF + "ClientPatch"}}
    }
    assert "application/json" in body["description"]


# --- statuses and headers --------------------------------------------------------
def test_every_v1_operation_lists_503_with_retry_after(document):
    for (method, path), operation_id in OPERATIONS.items():
        answer = document["paths"][path][method]["responses"]["503"]
        assert answer["headers"]["Retry-After"]["description"], operation_id
        assert answer["content"]["application/problem+json"]["schema"]["$ref"].endswith(
            "ProblemDetails"
        )


def test_409_belongs_to_create_alone_and_304_to_get(document):
    for (method, path), operation_id in OPERATIONS.items():
        responses = document["paths"][path][method]["responses"]
        assert ("409" in responses) == (operation_id == "createClient"), operation_id
        assert ("304" in responses) == (operation_id == "getClient"), operation_id


@pytest.mark.parametrize(
    ("operation_id", "status", "headers"),
    [
        ("createClient", "201", {"ETag", "Location"}),
        ("getClient", "200", {"ETag"}),
        ("getClient", "304", {"ETag"}),
        ("replaceClient", "200", {"ETag"}),
        ("updateClient", "200", {"ETag"}),
        ("rotateClientSecret", "200", {"ETag"}),
        ("listClients", "200", {"Link"}),
    ],
)
def test_response_headers_are_described(document, operation_id, status, headers):
    described = operation(document, operation_id)["responses"][status]["headers"]
    assert set(described) >= headers
    for name in headers:
        assert described[name]["description"]
        assert described[name]["schema"] == {"type": "string"}


# --- HTTP: 405 and HEAD ------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/clients", "GET, HEAD, POST"),
        ("PUT", "/v1/clients", "GET, HEAD, POST"),
        ("POST", "/v1/clients/some-id", "GET, HEAD, PUT, PATCH, DELETE"),
        ("GET", "/v1/clients/some-id/rotate-secret", "POST"),
        ("POST", "/healthz", "GET, HEAD"),
    ],
)
def test_405_allows_every_method_of_the_path(api, method, path, allow):
    response = api.request(method, path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert response.headers["content-type"].startswith("application/problem+json")


def test_head_answers_like_get_without_a_body(api: httpx.Client):
    client_id = new_client(api)["id"]
    get = api.get(f"/v1/clients/{client_id}")
    head = api.head(f"/v1/clients/{client_id}")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert head.headers["content-type"] == get.headers["content-type"]


@pytest.mark.parametrize("path", ["/v1/clients?limit=1", "/healthz", "/openapi.json", "/docs"])
def test_head_works_wherever_get_does(api, path):
    response = api.head(path)
    assert response.status_code == 200
    assert response.content == b""


def test_head_needs_the_read_scope_like_get(service):
    assert service.anonymous().head("/v1/clients").status_code == 401
    assert service.anonymous().head("/v1/clients/nope").status_code == 401


def test_head_of_an_unknown_client_is_404(api):
    response = api.head("/v1/clients/no-such-client")
    assert response.status_code == 404
    assert response.content == b""


# --- what the fuzzer found -----------------------------------------------------------
def test_a_whole_float_is_a_grace_period_and_a_fraction_is_not(api):
    client_id = new_client(api)["id"]
    path = f"/v1/clients/{client_id}/rotate-secret"
    assert api.post(path, json={"gracePeriodSeconds": 60.0}).status_code == 200
    refused = api.post(path, json={"gracePeriodSeconds": 60.5})
    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["gracePeriodSeconds"]


def test_a_null_rotate_body_is_refused_and_no_body_is_fine(api):
    client_id = new_client(api)["id"]
    path = f"/v1/clients/{client_id}/rotate-secret"
    refused = api.post(path, content=b"null", headers={"Content-Type": "application/json"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body"
    assert api.post(path).status_code == 200


@pytest.mark.parametrize(
    ("name", "value"), [("grantType", ""), ("scope", ""), ("scope", "a b"), ("name", "a\x00b")]
)
def test_list_filters_refuse_what_the_document_refuses(api, name, value):
    response = api.get("/v1/clients", params={name: value})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == name


# --- the response check of conftest ----------------------------------------------------
def _response(method: str, url: str, status: int, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request(method, url), **kwargs)


def test_the_response_check_sees_the_suite(service, api):
    before = service.checker.checked
    new_client(api)
    api.get("/v1/clients")
    assert service.checker.checked >= before + 2


def test_the_response_check_refuses_a_field_the_document_lacks(service, api):
    created = new_client(api)
    body = {key: value for key, value in created.items() if key != "secret"}
    url = f"{service.url}/v1/clients/{created['id']}"
    checker = ResponseChecker(service.checker.document)
    checker(_response("GET", url, 200, json=body, headers={"ETag": '"x"'}))
    with pytest.raises(AssertionError, match="nickname"):
        checker(_response("GET", url, 200, json={**body, "nickname": "x"}, headers={"ETag": '"x"'}))
    with pytest.raises(AssertionError, match="ETag"):
        checker(_response("GET", url, 200, json=body))
    with pytest.raises(AssertionError, match="does not list"):
        checker(_response("GET", url, 409, json={}))
    without = {key: value for key, value in body.items() if key != "createdAt"}
    with pytest.raises(AssertionError, match="createdAt"):
        checker(_response("GET", url, 200, json=without, headers={"ETag": '"x"'}))
