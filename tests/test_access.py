"""Request ids and security headers on every response (API.md section 2)."""

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import Request

from builders import new_client
from client_registry import request_ids
from client_registry.app import create_app
from conftest import FakeClock, Service, serving_app, settings_for

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def probed(database: str) -> Iterator[str]:
    """The service plus two routes of the test's own: one that says which
    request id the app sees, one that crashes."""
    app = create_app(settings_for(database), clock=FakeClock())

    @app.get("/test/request-id")
    def seen(request: Request) -> dict[str, str | None]:
        # A plain def runs in a worker thread: the context variable follows it.
        return {"state": request.state.request_id, "context": request_ids.current.get()}

    @app.get("/test/crash")
    def crash() -> None:
        raise RuntimeError("a failure deep inside")

    with serving_app(app) as url:
        yield url


def answers(service: Service) -> dict[str, httpx.Response]:
    """One response of each kind the service gives, with no X-Request-ID sent."""
    api, anonymous = service.client(), service.anonymous()
    created = new_client(api)
    read_only = service.client(service.mint_token("clients:read"))
    client_url = f"/v1/clients/{created['id']}"
    return {
        "create": api.post(
            "/v1/clients", json={"name": "headers", "grantTypes": ["client_credentials"]}
        ),
        "get": api.get(client_url),
        "list": api.get("/v1/clients"),
        "rotate": api.post(f"{client_url}/rotate-secret"),
        "delete": api.delete(client_url),
        "401": anonymous.get("/v1/clients"),
        "403": read_only.post("/v1/clients", json={}),
        "404": api.get("/v1/clients/no-such-client"),
        "404 unmatched": anonymous.get("/no/such/path"),
        "405": api.patch("/v1/clients"),
        "413": api.post("/v1/clients", content=b"{" + b" " * 70_000 + b"}"),
        "415": api.post("/v1/clients", content=b"x", headers={"Content-Type": "text/plain"}),
        "422": api.post("/v1/clients", json={"name": ""}),
        "healthz": anonymous.get("/healthz"),
        "readyz": anonymous.get("/readyz"),
        "openapi": anonymous.get("/openapi.json"),
        "metrics": anonymous.get("/metrics"),
    }


def test_every_response_gets_a_generated_request_id_and_nosniff(service: Service) -> None:
    responses = answers(service)
    statuses = {kind: response.status_code for kind, response in responses.items()}
    assert statuses["create"] == 201
    assert statuses["401"] == 401
    assert statuses["405"] == 405
    assert statuses["413"] == 413
    seen = set()
    for kind, response in responses.items():
        request_id = response.headers.get("X-Request-ID")
        assert request_id is not None, kind
        assert GENERATED.fullmatch(request_id), (kind, request_id)
        assert response.headers.get("X-Content-Type-Options") == "nosniff", kind
        seen.add(request_id)
    assert len(seen) == len(responses), "a request id was given out twice"


def test_every_api_response_is_no_store(service: Service) -> None:
    for kind, response in answers(service).items():
        if response.request.url.path.startswith("/v1/"):
            assert response.headers.get("Cache-Control") == "no-store", kind


def test_responses_with_a_secret_are_no_store(api: httpx.Client) -> None:
    created = api.post("/v1/clients", json={"name": "secret", "grantTypes": ["client_credentials"]})
    assert "secret" in created.json()
    assert created.headers["Cache-Control"] == "no-store"
    rotated = api.post(f"/v1/clients/{created.json()['id']}/rotate-secret")
    assert "secret" in rotated.json()
    assert rotated.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "sent",
    [
        "a",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "req 42 / retry #2 ~!@$%^&*()[]{}<>?|",
        "x" * 128,
    ],
    ids=["one char", "uuid", "punctuation and spaces", "128 chars"],
)
def test_a_sane_request_id_is_kept(service: Service, sent: str) -> None:
    api, anonymous = service.client(), service.anonymous()
    for response in (
        api.get("/v1/clients", headers={"X-Request-ID": sent}),
        api.get("/v1/clients/missing", headers={"X-Request-ID": sent}),
        anonymous.get("/v1/clients", headers={"X-Request-ID": sent}),
        anonymous.get("/healthz", headers={"X-Request-ID": sent}),
    ):
        assert response.headers["X-Request-ID"] == sent


@pytest.mark.parametrize(
    "sent",
    [
        b"x" * 129,
        b"caf\xc3\xa9",
        b"tab\there",
        b"",
    ],
    ids=["129 chars", "non-ASCII", "tab", "empty"],
)
def test_an_unusable_request_id_is_replaced(service: Service, sent: bytes) -> None:
    response = service.client().get("/v1/clients", headers={"X-Request-ID": sent})
    assert response.status_code == 200
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


def test_the_app_sees_the_request_id_in_its_state_and_context(probed: str) -> None:
    with httpx.Client(base_url=probed, timeout=30) as http:
        kept = http.get("/test/request-id", headers={"X-Request-ID": "trace-7"})
        generated = http.get("/test/request-id")
    assert kept.json() == {"state": "trace-7", "context": "trace-7"}
    assert generated.json()["state"] == generated.headers["X-Request-ID"]
    assert generated.json()["context"] == generated.headers["X-Request-ID"]


def test_a_crash_keeps_its_request_id_and_headers(probed: str) -> None:
    with httpx.Client(base_url=probed, timeout=30) as http:
        kept = http.get("/test/crash", headers={"X-Request-ID": "crash-1"})
        generated = http.get("/test/crash")
    assert kept.status_code == 500
    assert kept.headers["X-Request-ID"] == "crash-1"
    assert kept.headers["X-Content-Type-Options"] == "nosniff"
    assert "deep inside" not in kept.text
    assert generated.status_code == 500
    assert GENERATED.fullmatch(generated.headers["X-Request-ID"])
