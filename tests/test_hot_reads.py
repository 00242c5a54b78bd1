"""The hot reads (token check, get, authenticate) run on connections of their
own: they must see every change at once, and outlive dropped connections."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, make_url, text

from builders import new_client
from client_registry.tables import ClientRow
from client_registry.tokens import ALL_SCOPES, create_token
from conftest import POSTGRES_URL, FakeClock, Service, on_database, running_server, settings_for
from serving import run_cli

clients_table = ClientRow.__table__


def test_a_client_deleted_by_another_connection_is_gone_at_once(
    service: Service, api: httpx.Client
) -> None:
    client = new_client(api)
    url = f"/v1/clients/{client['id']}"
    assert api.get(url).status_code == 200
    body = {"secret": client["secret"], "method": "client_secret_basic"}
    assert api.post(f"{url}/authenticate", json=body).status_code == 200

    with service.engine.begin() as conn:
        conn.execute(delete(clients_table).where(clients_table.c.id == client["id"]))

    assert api.get(url).status_code == 404
    assert api.post(f"{url}/authenticate", json=body).status_code == 401


def test_a_client_created_by_another_server_is_read_at_once(
    database: str, service: Service, api: httpx.Client
) -> None:
    """Two servers on one database, as when several processes serve it."""
    with (
        running_server(settings_for(database), FakeClock()) as other_url,
        httpx.Client(base_url=other_url, headers=api.headers, timeout=30) as other,
    ):
        for _ in range(3):
            created = new_client(other)
            response = api.get(f"/v1/clients/{created['id']}")
            assert response.status_code == 200, response.text
            assert response.json()["name"] == created["name"]


@pytest.fixture
def tagged_service(database: str, service: Service) -> Iterator[tuple[Service, str]]:
    """A second server whose PostgreSQL connections carry a name of their own."""
    name = f"registry_test_{secrets.token_hex(4)}"
    url = make_url(database).update_query_dict({"application_name": name})
    settings = settings_for(url.render_as_string(hide_password=False))
    with running_server(settings, service.clock) as server_url:
        tagged = Service(server_url, database, service.engine, service.clock, service.token)
        yield tagged, name
        for client in tagged.clients:
            client.close()


@pytest.mark.postgresql_only
def test_dropped_postgres_connections_cost_no_failed_request(
    tagged_service: tuple[Service, str],
) -> None:
    """A database restart or an idle timeout closes the server's connections;
    the next requests must still succeed."""
    assert POSTGRES_URL is not None
    service, name = tagged_service
    api = service.client()
    client = new_client(api)
    url = f"/v1/clients/{client['id']}"
    body = {"secret": client["secret"], "method": "client_secret_basic"}
    assert api.get(url).status_code == 200
    assert api.post(f"{url}/authenticate", json=body).status_code == 200

    with service.engine.connect() as conn:
        dropped = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name"
            ),
            {"name": name},
        ).scalar_one()
    assert dropped >= 1

    for _ in range(3):
        assert api.get(url).status_code == 200
        assert api.post(f"{url}/authenticate", json=body).status_code == 200
    patched = api.patch(
        url,
        json={"name": "after the drop"},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text


@pytest.mark.postgresql_only
def test_reads_outlive_rolled_back_writes(api: httpx.Client) -> None:
    """Reads are prepared statements. psycopg prepares a statement of its
    own at its sixth run, and once it has one, a rollback deallocates every
    prepared statement of the session: a read must prepare again, unseen."""
    client = new_client(api)
    url = f"/v1/clients/{client['id']}"
    body = {"secret": client["secret"], "method": "client_secret_basic"}
    merge = {"Content-Type": "application/merge-patch+json"}
    for round_ in range(2):
        for change in range(7):
            patched = api.patch(url, json={"name": f"round {round_} {change}"}, headers=merge)
            assert patched.status_code == 200, patched.text
        assert api.get(url).status_code == 200
        stale = api.patch(url, json={"name": "stale"}, headers={**merge, "If-Match": '"0"'})
        assert stale.status_code == 412, stale.text
        assert api.get(url).json()["name"] == f"round {round_} 6"
        assert api.post(f"{url}/authenticate", json=body).status_code == 200
        assert api.get("/v1/clients", params={"limit": 1}).status_code == 200


@pytest.mark.postgresql_only
def test_every_libpq_parameter_serves_as_it_migrates(database: str) -> None:
    """`connect_timeout` is libpq's own: a URL that migrates also serves."""
    url = make_url(database).update_query_dict(
        {"connect_timeout": "5", "application_name": "registry-test", "sslmode": "prefer"}
    )
    settings = settings_for(url.render_as_string(hide_password=False))
    with running_server(settings, FakeClock()) as server_url:
        assert httpx.get(f"{server_url}/readyz", timeout=30).status_code == 200
        token = service_token(database)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server_url, headers=headers, timeout=30) as api:
            created = new_client(api)
            assert api.get(f"/v1/clients/{created['id']}").status_code == 200


def service_token(database: str) -> str:
    return on_database(database, lambda db: create_token(db, name="tests", scopes=ALL_SCOPES))


# The keyed reads may be answered from memory on SQLite while the database
# is unchanged; every change, by this server, another or the command line,
# must still be seen by the very next request.


def test_a_token_revoked_by_the_command_line_fails_on_its_next_request(
    database: str, service: Service, tmp_path: Path
) -> None:
    name = f"doomed-{secrets.token_hex(4)}"
    token = on_database(database, lambda db: create_token(db, name=name, scopes=ALL_SCOPES))
    doomed = service.client(token)
    client = new_client(doomed)
    url = f"/v1/clients/{client['id']}"
    body = {"secret": client["secret"], "method": "client_secret_basic"}
    for _ in range(2):  # read twice, so the second may come from memory
        assert doomed.get(url).status_code == 200
        assert doomed.post(f"{url}/authenticate", json=body).status_code == 200

    listed = run_cli(database, tmp_path, "token", "list")
    token_id = next(line.split()[0] for line in listed.splitlines() if name in line)
    run_cli(database, tmp_path, "token", "revoke", token_id)

    assert doomed.get(url).status_code == 401
    assert doomed.post(f"{url}/authenticate", json=body).status_code == 401


def test_changes_made_through_another_server_are_seen_by_the_next_read(
    database: str, service: Service, api: httpx.Client
) -> None:
    with (
        running_server(settings_for(database), FakeClock()) as other_url,
        httpx.Client(base_url=other_url, headers=api.headers, timeout=30) as other,
    ):
        client = new_client(api)
        url = f"/v1/clients/{client['id']}"
        old = {"secret": client["secret"], "method": "client_secret_basic"}
        for _ in range(2):
            first = api.get(url)
            assert api.post(f"{url}/authenticate", json=old).status_code == 200

        patched = other.patch(url, json={"name": "renamed elsewhere"})
        assert patched.status_code == 200, patched.text
        read = api.get(url)
        assert read.json()["name"] == "renamed elsewhere"
        assert read.headers["ETag"] == patched.headers["ETag"] != first.headers["ETag"]

        rotated = other.post(f"{url}/rotate-secret", json={})
        assert rotated.status_code == 200, rotated.text
        new = {"secret": rotated.json()["secret"], "method": "client_secret_basic"}
        assert api.post(f"{url}/authenticate", json=old).status_code == 401
        assert api.post(f"{url}/authenticate", json=new).status_code == 200

        assert other.delete(url).status_code == 204
        assert api.get(url).status_code == 404
        assert api.post(f"{url}/authenticate", json=new).status_code == 401


def test_a_client_unknown_a_moment_ago_is_found_once_created_elsewhere(
    database: str, service: Service, api: httpx.Client
) -> None:
    client_id = f"later-{secrets.token_hex(4)}"
    for _ in range(2):
        assert api.get(f"/v1/clients/{client_id}").status_code == 404
    with (
        running_server(settings_for(database), FakeClock()) as other_url,
        httpx.Client(base_url=other_url, headers=api.headers, timeout=30) as other,
    ):
        created = new_client(other, id=client_id)
    assert api.get(f"/v1/clients/{client_id}").json()["name"] == created["name"]


def test_this_servers_own_writes_are_seen_by_its_next_read(api: httpx.Client) -> None:
    client = new_client(api)
    url = f"/v1/clients/{client['id']}"
    for _ in range(2):
        assert api.get(url).json()["name"] == client["name"]
    for name in ("first rename", "second rename"):
        assert api.patch(url, json={"name": name}).status_code == 200
        assert api.get(url).json()["name"] == name
