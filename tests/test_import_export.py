"""`client-registry export` and `import` (API.md section 8), run as
subprocesses; what they wrote is checked over HTTP, as users see it.

The source is the module's running service; each import goes into a fresh
database of the same engine, served by a server of its own."""

import base64
import hashlib
import json
import os
import pty
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from builders import new_client, unique_name
from client_registry.db import make_engine
from client_registry.tokens import ALL_SCOPES, create_token
from conftest import (
    FakeClock,
    Service,
    free_port,
    on_database,
    postgres_schema,
    running_server,
    settings_for,
)
from processes import CLI, TIMEOUT, environment

BASIC = "client_secret_basic"
# Password-grade hashing is slow on purpose; the commands need only a valid hash.
FAST_HASHING = {"given_secret_rounds": 1000}


def cli(
    url: str, workdir: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        env=environment(url, **FAST_HASHING),
        cwd=workdir,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@dataclass
class Registry:
    """A migrated database, its server, and an HTTP client with every scope."""

    url: str
    workdir: Path
    http: httpx.Client

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return cli(self.url, self.workdir, *args, stdin=stdin)

    def import_lines(
        self, lines: list[dict[str, Any]], *args: str
    ) -> subprocess.CompletedProcess[str]:
        return self.run("import", *args, stdin="".join(json.dumps(line) + "\n" for line in lines))

    def documents(self) -> list[dict[str, Any]]:
        """Every client, in the list's order (creation order)."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = self.http.get("/v1/clients", params=params).json()
            items += page["items"]
            cursor = page["nextCursor"]
            if cursor is None:
                return items

    def authenticates(self, client_id: str, secret: str) -> bool:
        body = {"secret": secret, "method": BASIC}
        response = self.http.post(f"/v1/clients/{client_id}/authenticate", json=body)
        assert response.status_code in (200, 401), response.text
        return response.status_code == 200

    def stored_hash(self, client_id: str) -> str:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                query = text("SELECT secret_hash FROM clients WHERE id = :id")
                return str(conn.execute(query, {"id": client_id}).scalar_one())
        finally:
            engine.dispose()

    def imported_events(self) -> list[dict[str, Any]]:
        response = self.http.get(
            "/v1/audit-events", params={"action": "client.imported", "limit": 200}
        )
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["items"]
        return events


@contextmanager
def empty_registry(engine_of: str, workdir: Path) -> Iterator[Registry]:
    """A fresh, migrated database on the engine of the URL `engine_of`, served."""
    with _fresh_url(engine_of, workdir) as url:
        migrated = cli(url, workdir, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        token = on_database(url, lambda db: create_token(db, name="tests", scopes=ALL_SCOPES))
        with (
            running_server(settings_for(url), FakeClock()) as base,
            httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as http,
        ):
            yield Registry(url, workdir, http)


@contextmanager
def _fresh_url(engine_of: str, workdir: Path) -> Iterator[str]:
    if engine_of.startswith("sqlite"):
        yield f"sqlite:///{workdir / f'{secrets.token_hex(4)}.db'}"
        return
    with postgres_schema("test_import") as url:
        yield url


@pytest.fixture
def target(service: Service, tmp_path: Path) -> Iterator[Registry]:
    with empty_registry(service.database, tmp_path) as registry:
        yield registry


def given_secret() -> str:
    return "given-" + secrets.token_urlsafe(36)


def line(**fields: Any) -> dict[str, Any]:
    """An import line: a valid client with a plaintext secret, and `fields`."""
    body: dict[str, Any] = {
        "id": unique_name("imported"),
        "name": unique_name(),
        "redirect": ["https://app.example.com/cb"],
        "secret": given_secret(),
    }
    return {**body, **fields}


def django_hash(secret: str, *, iterations: int = 1000) -> str:
    """django-oauth-toolkit's stored form (Django's PBKDF2PasswordHasher)."""
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def _source_clients(service: Service) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Clients of every kind on the source, with the secrets that work, and
    a secret that no longer does."""
    api = service.client()
    clients: dict[str, list[str]] = {}
    generated = new_client(api)
    clients[str(generated["id"])] = [str(generated["secret"])]
    chosen = given_secret()
    confidential = new_client(api, secret=chosen, grantTypes=["client_credentials"], scopes=["api"])
    clients[str(confidential["id"])] = [chosen]
    rotated = new_client(api, firstParty=True)
    response = api.post(
        f"/v1/clients/{rotated['id']}/rotate-secret", json={"gracePeriodSeconds": 3600}
    )
    assert response.status_code == 200, response.text
    clients[str(rotated["id"])] = [response.json()["secret"], str(rotated["secret"])]
    # A previous secret whose grace is over is not exported; its expiry stays
    # on show. Export reads the real time, so the grace ends in the real past.
    service.clock.advance(-7200)
    expired = new_client(api)
    response = api.post(
        f"/v1/clients/{expired['id']}/rotate-secret", json={"gracePeriodSeconds": 1}
    )
    service.clock.advance(7200)
    clients[str(expired["id"])] = [response.json()["secret"]]
    return clients, {str(expired["id"]): str(expired["secret"])}


def test_export_then_import_gives_every_client_back(service: Service, target: Registry) -> None:
    clients, stale = _source_clients(service)
    api = service.client()
    exported = cli(service.database, target.workdir, "export")
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(text) for text in exported.stdout.splitlines()]
    source_documents = Registry(service.database, target.workdir, api).documents()
    assert [item["id"] for item in lines] == [item["id"] for item in source_documents]
    for item, document in zip(lines, source_documents, strict=True):
        extra = {key: item[key] for key in item.keys() - document.keys()}
        assert {key: item[key] for key in document} == document
        assert set(extra) <= {"secretHash", "previousSecretHash"}
        assert "secretHash" in extra
    by_id = {item["id"]: item for item in lines}
    assert [len(works) for works in clients.values()] == [1, 1, 2, 1]
    for client_id, works in clients.items():
        assert ("previousSecretHash" in by_id[client_id]) == (len(works) == 2)
        for secret in works:
            assert secret not in exported.stdout

    imported = target.run("import", stdin=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    assert target.documents() == source_documents
    for client_id, works in clients.items():
        for secret in works:
            assert target.authenticates(client_id, secret)
        assert not target.authenticates(client_id, given_secret())
    for client_id, secret in stale.items():
        assert secret not in exported.stdout
        assert not target.authenticates(client_id, secret)


def test_imported_clients_behave_like_created_ones(target: Registry) -> None:
    first, second = line(), line()
    assert target.import_lines([first, second]).returncode == 0
    later = new_client(target.http)
    assert [item["id"] for item in target.documents()] == [first["id"], second["id"], later["id"]]

    got = target.http.get(f"/v1/clients/{first['id']}")
    assert got.status_code == 200
    etag = got.headers["ETag"]
    assert (
        target.http.get(f"/v1/clients/{first['id']}", headers={"If-None-Match": etag}).status_code
        == 304
    )
    patched = target.http.patch(
        f"/v1/clients/{first['id']}", json={"firstParty": True}, headers={"If-Match": etag}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["firstParty"] is True
    stale = target.http.patch(
        f"/v1/clients/{first['id']}", json={"name": "x"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert target.authenticates(first["id"], first["secret"])
    rotated = target.http.post(
        f"/v1/clients/{first['id']}/rotate-secret", json={"gracePeriodSeconds": 60}
    )
    assert rotated.status_code == 200
    assert target.authenticates(first["id"], rotated.json()["secret"])
    assert target.authenticates(first["id"], first["secret"])


def test_timestamps_are_kept_and_default_to_the_time_of_import(target: Registry) -> None:
    kept = line(
        createdAt="2021-03-04T05:06:07.123456Z",
        updatedAt="2022-01-02T03:04:05+02:00",
        secretCreatedAt="2021-03-04T05:06:07.123456Z",
    )
    fresh = line()
    before = datetime.now(UTC)
    assert target.import_lines([kept, fresh]).returncode == 0
    after = datetime.now(UTC)
    documents = {item["id"]: item for item in target.documents()}
    assert documents[kept["id"]]["createdAt"] == "2021-03-04T05:06:07.123456Z"
    assert documents[kept["id"]]["updatedAt"] == "2022-01-02T01:04:05Z"
    assert documents[kept["id"]]["secretCreatedAt"] == "2021-03-04T05:06:07.123456Z"
    for field in ("createdAt", "updatedAt", "secretCreatedAt"):
        at = datetime.fromisoformat(documents[fresh["id"]][field])
        assert before <= at <= after


def test_a_django_oauth_toolkit_hash_authenticates_and_is_upgraded(target: Registry) -> None:
    secret = secrets.token_urlsafe(40)
    stored = django_hash(secret)
    moved = line(secretHash=stored)
    del moved["secret"]
    result = target.import_lines([moved])
    assert result.returncode == 0, result.stderr
    assert target.stored_hash(moved["id"]) == stored
    assert not target.authenticates(moved["id"], given_secret())
    assert target.stored_hash(moved["id"]) == stored
    assert target.authenticates(moved["id"], secret)
    upgraded = target.stored_hash(moved["id"])
    assert upgraded.startswith("$pbkdf2-sha256$")
    assert target.authenticates(moved["id"], secret)
    assert target.stored_hash(moved["id"]) == upgraded


def test_each_imported_client_has_its_audit_event(target: Registry) -> None:
    lines = [line(), line()]
    assert target.import_lines(lines).returncode == 0
    events = target.imported_events()
    assert sorted(event["clientId"] for event in events) == sorted(item["id"] for item in lines)
    for event in events:
        assert event["actor"] == {"type": "cli"}
        changes = {change["field"]: change for change in event["changes"]}
        assert changes["secret"] == {"field": "secret", "before": None, "after": None}
        assert changes["name"]["before"] is None
        assert changes["name"]["after"] in {item["name"] for item in lines}
    dumped = json.dumps(events)
    for item in lines:
        assert item["secret"] not in dumped
    assert "pbkdf2" not in dumped


def test_bad_lines_are_reported_one_a_line_and_nothing_is_written(target: Registry) -> None:
    existing = line()
    assert target.import_lines([existing]).returncode == 0
    good = line()
    secret = given_secret()
    both = line(secretHash=django_hash(secret))
    neither = line()
    del neither["secret"]
    unknown_hash = line(secretHash="md5$nothing$we$know")
    del unknown_hash["secret"]
    short = line(secret="short-secret")
    texts = [
        json.dumps(good),
        "{not json",
        json.dumps(both),
        json.dumps(neither),
        json.dumps(unknown_hash),
        json.dumps(line(redirect=["http://example.com/cb"])),
        json.dumps(good),  # the same id again
        json.dumps(existing),
        "",
        json.dumps(short),
        json.dumps(line(name="   ", color="blue")),
        json.dumps(line(id=None)),
        json.dumps(line(grantTypes=["authorization_code"], redirect=[])),
        json.dumps(line(previousSecretHash=django_hash(secret))),
        json.dumps(line(createdAt="1700000000")),
        json.dumps(line(updatedAt="2021-01-01T00:00:00")),
        json.dumps(line(secretCreatedAt=1700000000)),
    ]
    result = target.run("import", stdin="\n".join(texts) + "\n")
    assert result.returncode == 1
    reported = result.stderr.splitlines()
    assert [text.split(":")[0] for text in reported] == [
        f"line {n}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17)
    ]
    fields = {
        int(text.split(":")[0].removeprefix("line ")): text.split(": ")[1] for text in reported
    }
    assert fields == {
        2: "body",
        3: "secret",
        4: "secret",
        5: "secretHash",
        6: "redirect[0]",
        7: "id",
        8: "id",
        10: "secret",
        11: "name",
        12: "id",
        13: "redirect",
        14: "previousSecretExpiresAt",
        15: "createdAt",
        16: "updatedAt",
        17: "secretCreatedAt",
    }
    assert "repeats the id of line 1" in reported[5]
    assert reported[8].endswith("color: unknown field")
    assert short["secret"] not in result.stderr
    assert [item["id"] for item in target.documents()] == [existing["id"]]
    assert len(target.imported_events()) == 1


def test_on_conflict_skip_and_replace(target: Registry) -> None:
    kept, replaced = line(firstParty=True), line(scopes=["openid"])
    assert target.import_lines([kept, replaced]).returncode == 0
    before = {item["id"]: item for item in target.documents()}
    new_secret = given_secret()
    newcomer = line()
    again = [
        {**kept, "firstParty": False},
        {
            **replaced,
            "secret": new_secret,
            "scopes": ["email"],
            "createdAt": "2020-01-01T00:00:00Z",
        },
        newcomer,
    ]
    failed = target.import_lines(again)
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[0].startswith("line 1: id: ")
    assert target.documents() == list(before.values())

    skipped = target.import_lines(again[:1], "--on-conflict", "skip")
    assert skipped.returncode == 0, skipped.stderr
    assert target.documents() == list(before.values())

    result = target.import_lines(again[1:], "--on-conflict", "replace")
    assert result.returncode == 0, result.stderr
    documents = target.documents()
    assert [item["id"] for item in documents] == [kept["id"], replaced["id"], newcomer["id"]]
    assert documents[0] == before[kept["id"]]
    assert documents[1]["scopes"] == ["email"]
    assert documents[1]["createdAt"] == "2020-01-01T00:00:00Z"
    assert target.authenticates(replaced["id"], new_secret)
    assert not target.authenticates(replaced["id"], replaced["secret"])
    event = next(e for e in target.imported_events() if e["clientId"] == replaced["id"])
    changes = {change["field"]: change for change in event["changes"]}
    assert changes["scopes"] == {"field": "scopes", "before": ["openid"], "after": ["email"]}
    assert "secret" in changes
    assert "name" not in changes


def test_dry_run_checks_everything_and_writes_nothing(target: Registry) -> None:
    existing = line()
    assert target.import_lines([existing]).returncode == 0
    good = target.import_lines([line(), line()], "--dry-run")
    assert good.returncode == 0, good.stderr
    conflict = target.import_lines([line(), existing], "--dry-run")
    assert conflict.returncode == 1
    assert conflict.stderr.splitlines() == [conflict.stderr.splitlines()[0]]
    assert conflict.stderr.startswith("line 2: id: ")
    replace = target.import_lines([line(), existing], "--dry-run", "--on-conflict", "replace")
    assert replace.returncode == 0, replace.stderr
    assert [item["id"] for item in target.documents()] == [existing["id"]]
    assert len(target.imported_events()) == 1


def test_import_reads_a_file_or_standard_input(target: Registry) -> None:
    from_file, from_dash, from_nothing = line(), line(), line()
    path = target.workdir / "clients.jsonl"
    # With the byte order mark some editors write first.
    path.write_text("\ufeff" + json.dumps(from_file) + "\r\n", encoding="utf-8")
    assert target.run("import", str(path)).returncode == 0
    assert target.import_lines([from_dash], "-").returncode == 0
    assert target.import_lines([from_nothing]).returncode == 0
    ids = [item["id"] for item in target.documents()]
    assert ids == [from_file["id"], from_dash["id"], from_nothing["id"]]
    missing = target.run("import", str(target.workdir / "missing.jsonl"))
    assert missing.returncode == 1
    assert "missing.jsonl" in missing.stderr


def test_export_to_a_file_only_its_owner_reads(target: Registry) -> None:
    assert target.import_lines([line(), line()]).returncode == 0
    path = target.workdir / "export.jsonl"
    result = target.run("export", "--output", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert path.stat().st_mode & 0o777 == 0o600
    lines = [json.loads(text) for text in path.read_text().splitlines()]
    assert [item["id"] for item in lines] == [item["id"] for item in target.documents()]


def test_an_export_that_fails_leaves_the_earlier_file_as_it_was(target: Registry) -> None:
    assert target.import_lines([line()]).returncode == 0
    path = target.workdir / "export.jsonl"
    assert target.run("export", "--output", str(path)).returncode == 0
    earlier = path.read_bytes()
    assert earlier.count(b"\n") == 1
    files = sorted(os.listdir(target.workdir))

    unreachable = f"postgresql://registry@127.0.0.1:{free_port()}/registry"
    failed = cli(unreachable, target.workdir, "export", "--output", str(path))
    assert failed.returncode != 0
    assert "refused" in failed.stderr, failed.stderr
    assert path.read_bytes() == earlier
    assert sorted(os.listdir(target.workdir)) == files, "no partial file left behind"


def test_progress_shows_on_a_terminal_and_not_when_piped(target: Registry) -> None:
    stored = django_hash(given_secret())
    lines = [{**line(), "secretHash": stored} for _ in range(300)]
    for item in lines:
        del item["secret"]
    path = target.workdir / "many.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in lines))
    piped = target.run("import", "--dry-run", str(path))
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr.splitlines() == [piped.stderr.strip()]
    assert "\r" not in piped.stderr

    leader, follower = pty.openpty()
    with subprocess.Popen(
        [str(CLI), "import", "--dry-run", str(path)],
        env=environment(target.url, **FAST_HASHING),
        stdout=subprocess.DEVNULL,
        stderr=follower,
    ) as process:
        os.close(follower)
        shown = _read_all(leader)
    assert process.returncode == 0
    assert "\rchecked: 300 clients" in shown
    assert "\rchecked against the database: 300 clients" in shown


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the other end closed (EIO on Linux)
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()
