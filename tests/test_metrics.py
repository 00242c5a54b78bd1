"""GET /metrics (API.md section 7): requests by route template, durations,
authentication outcomes and hash upgrades, with one worker and with several.

The metrics are process-wide, so the in-process tests compare a scrape
before and after what they do."""

import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from passlib.hash import sha256_crypt
from sqlalchemy import Engine, text

from builders import new_client
from client_registry.db import make_engine
from client_registry.migrate import upgrade_to_head
from conftest import ENGINES, FakeClock, Service, postgres_schema, running_server, settings_for
from scraping import Samples, scrape, total
from serving import environment, run_cli, serving

REQUESTS = "client_registry_http_requests"
DURATION = "client_registry_http_request_duration_seconds"
AUTHENTICATIONS = "client_registry_client_authentications"
CLIENT_ROUTE = "/v1/clients/{client_id}"


def requests(samples: Samples, **labels: str) -> float:
    return total(samples, f"{REQUESTS}_total", **labels)


def test_metrics_need_no_token_and_are_prometheus_text(service: Service) -> None:
    response = service.anonymous().get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert f"# TYPE {REQUESTS}_total counter" in response.text
    assert f"# TYPE {DURATION} histogram" in response.text
    for name in (
        "client_registry_client_authentications_total",
        "client_registry_secret_hash_upgrades_total",
        "client_registry_database_errors_total",
        "client_registry_pool_connections_in_use",
    ):
        assert f"# HELP {name} " in response.text


def test_metrics_are_not_in_the_api_description(service: Service) -> None:
    document = service.anonymous().get("/openapi.json").json()
    assert "/metrics" not in document["paths"]


def test_requests_are_counted_by_route_template_and_status(service: Service) -> None:
    api, anonymous = service.client(), service.anonymous()
    client_id = f"metrics-{secrets.token_hex(6)}"
    before = scrape(anonymous)
    new_client(api, id=client_id)
    for _ in range(3):
        assert api.get(f"/v1/clients/{client_id}").status_code == 200
    for _ in range(2):
        assert api.get(f"/v1/clients/missing-{secrets.token_hex(4)}").status_code == 404
    assert anonymous.get(f"/v1/clients/{client_id}").status_code == 401
    assert anonymous.get(f"/no/such/{client_id}").status_code == 404
    assert api.patch("/v1/clients").status_code == 405
    response = anonymous.get("/metrics")
    after = scrape(anonymous)

    def grew(labels: dict[str, str]) -> float:
        return requests(after, **labels) - requests(before, **labels)

    assert grew({"method": "POST", "route": "/v1/clients", "status": "201"}) == 1
    assert grew({"method": "GET", "route": CLIENT_ROUTE, "status": "200"}) == 3
    assert grew({"method": "GET", "route": CLIENT_ROUTE, "status": "404"}) == 2
    # Refused before routing, and still counted under its route.
    assert grew({"method": "GET", "route": CLIENT_ROUTE, "status": "401"}) == 1
    assert grew({"method": "GET", "route": "unmatched", "status": "404"}) == 1
    assert grew({"method": "PATCH", "route": "/v1/clients", "status": "405"}) == 1
    get_count = f"{DURATION}_count"
    grown = total(after, get_count, route=CLIENT_ROUTE) - total(
        before, get_count, route=CLIENT_ROUTE
    )
    assert grown == 6
    assert client_id not in response.text, "a client id became a label"


def test_authentications_are_counted_by_outcome(service: Service) -> None:
    api = service.client()
    created = new_client(api)
    path = f"/v1/clients/{created['id']}/authenticate"
    body = {"secret": created["secret"], "method": "client_secret_basic"}
    wrong = {**body, "secret": "crs_" + secrets.token_urlsafe(32)}
    before = scrape(api)
    assert api.post(path, json=body).status_code == 200
    assert api.post(path, json=wrong).status_code == 401
    assert api.post("/v1/clients/nobody/authenticate", json=wrong).status_code == 401
    # Neither a refused admin token nor a malformed body is a verdict on the client.
    assert service.anonymous().post(path, json=body).status_code == 401
    assert api.post(path, json={"secret": created["secret"]}).status_code == 422
    after = scrape(api)
    name = f"{AUTHENTICATIONS}_total"
    assert total(after, name, outcome="passed") - total(before, name, outcome="passed") == 1
    assert total(after, name, outcome="failed") - total(before, name, outcome="failed") == 2


def test_a_hash_upgrade_is_counted(service: Service) -> None:
    api = service.client()
    created = new_client(api)
    legacy = sha256_crypt.using(rounds=5_000).hash(created["secret"])
    with service.engine.begin() as conn:
        conn.execute(
            text("UPDATE clients SET secret_hash = :hash WHERE id = :id"),
            {"hash": legacy, "id": created["id"]},
        )
    path = f"/v1/clients/{created['id']}/authenticate"
    body = {"secret": created["secret"], "method": "client_secret_basic"}
    name = "client_registry_secret_hash_upgrades_total"
    before = total(scrape(api), name)
    assert api.post(path, json=body).status_code == 200
    assert api.post(path, json=body).status_code == 200  # already upgraded
    assert total(scrape(api), name) - before == 1


def test_metrics_can_be_turned_off(database: str) -> None:
    settings = settings_for(database, metrics=False)
    with running_server(settings, FakeClock()) as url, httpx.Client(base_url=url) as http:
        response = http.get("/metrics")
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/problem+json"
        assert http.get("/healthz").status_code == 200


# -- several workers ----------------------------------------------------------


@pytest.fixture(params=ENGINES)
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of this test's own, migrated."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'workers.db'}"
        _migrate(url)
        yield url
        return
    with postgres_schema("test_metrics") as url:
        _migrate(url)
        yield url


def _migrate(url: str) -> None:
    engine: Engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()


def send_in_parallel(url: str, token: str, paths: list[str], threads: int = 8) -> list[int]:
    """GET each path once over fresh connections from several threads, so the
    workers share them; returns the statuses."""
    statuses: list[int] = []
    lock = threading.Lock()

    def send(share: list[str]) -> None:
        headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            for path in share:
                status = http.get(path).status_code
                with lock:
                    statuses.append(status)

    workers = [threading.Thread(target=send, args=(paths[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return statuses


def test_with_two_workers_a_scrape_covers_both(migrated: str, tmp_path: Path) -> None:
    token = run_cli(migrated, tmp_path, "token", "create", "--name", "m", "--scope", "clients:read")
    token = token.strip()
    # serve makes its folder for the workers' figures under TMPDIR.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**environment(migrated), "TMPDIR": str(scratch)}
    sent = 300
    paths = [f"/v1/clients/absent-{n}" for n in range(sent)]
    with serving(migrated, tmp_path, workers=2, env=env) as served:
        statuses = send_in_parallel(served.url, token.strip(), paths)
        assert statuses == [404] * sent
        (folder,) = scratch.iterdir()
        pids = {name.stem.rsplit("_", 1)[-1] for name in folder.glob("counter_*.db")}
        assert len(pids) == 2, "the requests did not reach both workers"
        for _ in range(4):  # each scrape may be answered by either worker
            with httpx.Client(base_url=served.url, headers={"Connection": "close"}) as http:
                samples = scrape(http)
            assert requests(samples, route=CLIENT_ROUTE, status="404") == sent
            assert total(samples, f"{DURATION}_count", route=CLIENT_ROUTE) == sent
    assert not any(scratch.iterdir()), "serve left its metrics folder behind"
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
