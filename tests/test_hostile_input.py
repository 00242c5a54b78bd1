"""Input no client can hold never reaches the database driver (API.md 2):
a path id that cannot exist is not found, a filter that cannot match is a
422 naming it, and the service keeps answering afterwards."""

import pytest

from builders import new_client

IMPOSSIBLE_IDS = ["a%00b", "%00", "caf%C3%A9", "a%20b", "a%ED%A0%80b", "x" * 129]


@pytest.mark.parametrize("client_id", IMPOSSIBLE_IDS)
def test_an_impossible_path_id_is_not_found(api, client_id):
    client = new_client(api)
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        body = {"name": "x", "grantTypes": ["client_credentials"]} if method != "GET" else None
        response = api.request(method, f"/v1/clients/{client_id}", json=body)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["code"] == "not_found"
    rotated = api.post(f"/v1/clients/{client_id}/rotate-secret")
    assert rotated.status_code == 404, rotated.text
    body = {"secret": "whatever-secret", "method": "client_secret_basic"}
    refused = api.post(f"/v1/clients/{client_id}/authenticate", json=body)
    assert refused.status_code == 401, refused.text
    assert refused.json()["code"] == "invalid_client"
    # The connections that served these still serve the next request.
    assert api.get(f"/v1/clients/{client['id']}").status_code == 200
    auth = {"secret": client["secret"], "method": "client_secret_basic"}
    assert api.post(f"/v1/clients/{client['id']}/authenticate", json=auth).status_code == 200


@pytest.mark.parametrize("value", ["a\x00b", "\x00", "a\x1bb", "a\u202eb"])
def test_an_unprintable_name_filter_is_refused(api, value):
    response = api.get("/v1/clients", params={"name": value})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["name"]
    assert api.get("/v1/clients", params={"name": "ok"}).status_code == 200


@pytest.mark.parametrize(("param", "value"), [("grantType", "a\x00b"), ("scope", "a\x00b")])
def test_a_nul_in_another_filter_is_refused(api, param, value):
    response = api.get("/v1/clients", params={param: value})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [param]


def test_a_field_named_with_a_lone_surrogate_is_a_422(api):
    body = '{"name": "x", "redirect": ["https://app.example.com/cb"], "\\ud800": 1}'
    response = api.post("/v1/clients", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"], response.text
