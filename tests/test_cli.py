"""The `client-registry` command (API.md section 5), run as a subprocess.

Each test gets a database of its own: a fresh SQLite file in tmp_path and,
when CLIENT_REGISTRY_TEST_POSTGRES_URL is set, a fresh PostgreSQL schema
reached through a plain `postgresql://` URL (the service picks its driver).
"""

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from client_registry.db import make_engine
from client_registry.migrate import alembic_config
from conftest import (
    ENGINES,
    FakeClock,
    free_port,
    postgres_schema,
    running_server,
    settings_for,
)

CLI = Path(sys.executable).parent / "client-registry"
TIMEOUT = 60
TOKEN_PATTERN = re.compile(r"crat_[A-Za-z0-9_\-]+")
READ = "clients:read"
WRITE = "clients:write"
AUTHENTICATE = "clients:authenticate"


class Database:
    """A fresh database and the working folder the command runs in."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.workdir = workdir

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(self.url, self.workdir, *args)

    def migrate(self) -> None:
        result = self.run("migrate")
        assert result.returncode == 0, result.stderr

    def create_token(self, name: str, *scopes: str) -> str:
        args = ["token", "create", "--name", name]
        for scope in scopes:
            args += ["--scope", scope]
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def token_lines(self) -> list[str]:
        result = self.run("token", "list")
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()


def _environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENT_REGISTRY_")}
    env["CLIENT_REGISTRY_DATABASE_URL"] = url
    return env


def run_cli(url: str, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        env=_environment(url),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture(params=ENGINES)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, not yet migrated database."""
    if request.param == "sqlite":
        yield Database(_sqlite_url(tmp_path), tmp_path)
        return
    with postgres_schema("test_cli") as url:
        yield Database(url, tmp_path)


@pytest.fixture
def migrated(fresh: Database) -> Database:
    fresh.migrate()
    return fresh


def _head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _stored_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()


def _table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _statuses(url: str, token: str) -> tuple[int, int]:
    """(GET /v1/clients, POST /v1/clients) with the token, on a server on `url`."""
    with (
        running_server(settings_for(url), FakeClock()) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http,
    ):
        read = http.get("/v1/clients").status_code
        body = {"name": "cli check", "redirect": ["https://cli.example.com/cb"]}
        write = http.post("/v1/clients", json=body).status_code
        return read, write


# -- migrate ------------------------------------------------------------------


def test_migrate_creates_the_tables_at_the_newest_revision(fresh):
    assert _stored_revision(fresh.url) is None
    result = fresh.run("migrate")
    assert result.returncode == 0, result.stderr
    assert {"clients", "admin_tokens", "alembic_version"} <= _table_names(fresh.url)
    assert _stored_revision(fresh.url) == _head_revision()


def test_migrate_twice_is_harmless(fresh):
    first = fresh.run("migrate")
    assert first.returncode == 0, first.stderr
    token = fresh.create_token("kept", READ)
    second = fresh.run("migrate")
    assert second.returncode == 0, second.stderr
    assert _stored_revision(fresh.url) == _head_revision()
    assert len(fresh.token_lines()) == 1, "a second migrate lost the stored tokens"
    assert _statuses(fresh.url, token)[0] == 200


def test_token_commands_on_an_unmigrated_database_fail_cleanly(tmp_path):
    url = _sqlite_url(tmp_path)
    result = run_cli(url, tmp_path, "token", "list")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "migrate" in result.stderr


# -- token create -------------------------------------------------------------


def test_token_create_prints_the_token_alone(migrated):
    result = migrated.run("token", "create", "--name", "deploy", "--scope", READ, "--scope", WRITE)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, f"stdout holds more than the token: {result.stdout!r}"
    token = lines[0]
    assert token.startswith("crat_")
    assert token == token.strip()
    assert " " not in token
    assert result.stdout == token + "\n"
    assert token not in result.stderr


def test_two_created_tokens_differ(migrated):
    assert migrated.create_token("one", READ) != migrated.create_token("two", READ)


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        pytest.param((READ, WRITE), (200, 201), id="read+write"),
        pytest.param((READ,), (200, 403), id="read"),
        pytest.param((WRITE,), (403, 201), id="write"),
        pytest.param((AUTHENTICATE,), (403, 403), id="authenticate"),
        pytest.param((READ, WRITE, AUTHENTICATE), (200, 201), id="all"),
    ],
)
def test_created_token_works_with_exactly_its_scopes(migrated, scopes, expected):
    token = migrated.create_token("scoped", *scopes)
    assert _statuses(migrated.url, token) == expected


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--scope", "clients:admin"], id="unknown-scope"),
        pytest.param(["--scope", READ, "--scope", "clients:*"], id="one-unknown-among-known"),
        pytest.param(["--scope", "CLIENTS:READ"], id="wrong-case"),
        pytest.param([], id="no-scope"),
    ],
)
def test_token_create_refuses_bad_scopes(migrated, args):
    result = migrated.run("token", "create", "--name", "bad", *args)
    assert result.returncode != 0
    assert "crat_" not in result.stdout + result.stderr
    assert result.stderr.strip(), "a refusal should say why"
    assert migrated.token_lines() == [], "a refused create stored a token"


# -- token list ---------------------------------------------------------------


def test_token_list_prints_one_line_per_token_id_first_never_the_token(migrated):
    assert migrated.token_lines() == []
    tokens = {
        "ci-deploy": migrated.create_token("ci-deploy", READ, WRITE),
        "admin-ui": migrated.create_token("admin-ui", READ),
        "auth-server": migrated.create_token("auth-server", AUTHENTICATE),
    }
    result = migrated.run("token", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(tokens), f"expected one line per token, no header: {lines}"
    for name in tokens:
        assert sum(name in line for line in lines) == 1, f"{name} is not on exactly one line"
    for token in tokens.values():
        assert token not in result.stdout + result.stderr
        assert token.removeprefix("crat_") not in result.stdout + result.stderr
    ids = [line.split()[0] for line in lines]
    assert len(set(ids)) == len(ids), "token ids are not unique"
    for token_id in ids:
        assert token_id not in tokens, "the first field is a name, not an id"
        assert not token_id.startswith("crat_")


def test_the_first_field_of_a_listed_line_is_what_revoke_takes(migrated):
    token = migrated.create_token("to-revoke", READ)
    (line,) = migrated.token_lines()
    result = migrated.run("token", "revoke", line.split()[0])
    assert result.returncode == 0, result.stderr
    assert _statuses(migrated.url, token)[0] == 401


# -- token revoke -------------------------------------------------------------


def test_token_revoke_stops_the_token_and_shows_it_revoked(migrated):
    doomed = migrated.create_token("doomed", READ, WRITE)
    kept = migrated.create_token("kept", READ, WRITE)
    assert _statuses(migrated.url, doomed) == (200, 201)
    lines = migrated.token_lines()
    (doomed_line,) = [line for line in lines if "doomed" in line]
    (kept_line,) = [line for line in lines if "kept" in line]
    assert "revoked" not in doomed_line.lower()

    result = migrated.run("token", "revoke", doomed_line.split()[0])
    assert result.returncode == 0, result.stderr
    assert doomed not in result.stdout + result.stderr

    with (
        running_server(settings_for(migrated.url), FakeClock()) as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        refused = http.get("/v1/clients", headers={"Authorization": f"Bearer {doomed}"})
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthorized"
        assert refused.headers["www-authenticate"].startswith("Bearer")
        still = http.get("/v1/clients", headers={"Authorization": f"Bearer {kept}"})
        assert still.status_code == 200

    after = migrated.token_lines()
    assert len(after) == 2, "a revoked token should stay listed"
    (doomed_after,) = [line for line in after if line.split()[0] == doomed_line.split()[0]]
    (kept_after,) = [line for line in after if line.split()[0] == kept_line.split()[0]]
    assert "revoked" in doomed_after.lower()
    assert "revoked" not in kept_after.lower()


def test_revoking_an_unknown_id_fails(migrated):
    migrated.create_token("present", READ)
    before = migrated.token_lines()
    result = migrated.run("token", "revoke", "tok_doesnotexist")
    assert result.returncode != 0
    assert "tok_doesnotexist" in result.stderr
    assert migrated.token_lines() == before


def test_revoke_without_an_id_fails(migrated):
    result = migrated.run("token", "revoke")
    assert result.returncode != 0


# -- openapi ------------------------------------------------------------------


def test_openapi_prints_the_document(tmp_path):
    result = run_cli(_sqlite_url(tmp_path), tmp_path, "openapi")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["openapi"].startswith("3.")
    operation_ids = [
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
    ]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds repeat"
    assert {
        "createClient",
        "listClients",
        "getClient",
        "replaceClient",
        "updateClient",
        "deleteClient",
        "rotateClientSecret",
        "authenticateClient",
    } <= set(operation_ids)


# -- help and version ---------------------------------------------------------


def test_version_prints_the_installed_version(tmp_path):
    from importlib.metadata import version

    result = run_cli(_sqlite_url(tmp_path), tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"client-registry {version('client-registry')}"


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["serve"], ["(default: 127.0.0.1)", "(default: 8000)", "(default: 1)"]),
        (["token", "create"], ["repeat it for several", "clients:authenticate"]),
        (["token", "revoke"], ["token list"]),
        (["migrate"], ["newest revision"]),
        (["openapi"], ["OpenAPI"]),
        ([], ["--version", "serve", "token"]),
    ],
)
def test_help_shows_every_option_with_its_default(tmp_path, command, shown):
    result = run_cli(_sqlite_url(tmp_path), tmp_path, *command, "--help")
    assert result.returncode == 0, result.stderr
    for words in shown:
        assert words in " ".join(result.stdout.split()), (words, result.stdout)
    assert "(default: None)" not in result.stdout


def test_openapi_needs_no_database(tmp_path):
    missing = tmp_path / "no" / "such" / "folder" / "registry.db"
    result = run_cli(f"sqlite:///{missing}", tmp_path, "openapi")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["paths"]


# -- serve --------------------------------------------------------------------


class Served:
    def __init__(self, url: str, stdout: Path, stderr: Path) -> None:
        self.url = url
        self._stdout = stdout
        self._stderr = stderr

    @property
    def output(self) -> str:
        return self._stdout.read_text() + self._stderr.read_text()

    @property
    def stdout(self) -> str:
        return self._stdout.read_text()


@contextmanager
def serving(url: str, workdir: Path, run: str) -> Iterator[Served]:
    """`client-registry serve` on a free loopback port, stopped on exit."""
    port = free_port()
    stdout = workdir / f"{run}.out"
    stderr = workdir / f"{run}.err"
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(
            [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**_environment(url), "PYTHONUNBUFFERED": "1"},
            cwd=workdir,
            stdout=out,
            stderr=err,
        )
    served = Served(f"http://127.0.0.1:{port}", stdout, stderr)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"serve exited with {process.returncode}: {served.output}")
            try:
                if httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not answer /healthz in time: {served.output}")
            time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _tokens_in(text: str) -> list[str]:
    return TOKEN_PATTERN.findall(text)


def test_serve_prints_a_working_token_once_on_a_fresh_database(tmp_path):
    url = _sqlite_url(tmp_path)
    with serving(url, tmp_path, "first") as served:
        health = httpx.get(f"{served.url}/healthz", timeout=10)
        assert health.status_code == 200
        assert httpx.get(f"{served.url}/readyz", timeout=10).status_code == 200

        token_lines = [line for line in served.output.splitlines() if "crat_" in line]
        assert len(token_lines) == 1, f"expected one token line: {served.output}"
        (line,) = token_lines
        assert "token" in line.lower(), f"the line does not say what it holds: {line!r}"
        (token,) = _tokens_in(line)

        with httpx.Client(
            base_url=served.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http:
            assert http.get("/v1/clients").status_code == 200
            created = http.post(
                "/v1/clients",
                json={"name": "served", "redirect": ["https://served.example.com/cb"]},
            )
            assert created.status_code == 201, created.text
            assert http.get(f"/v1/clients/{created.json()['id']}").status_code == 200
            authenticated = http.post(
                f"/v1/clients/{created.json()['id']}/authenticate",
                json={"secret": created.json()["secret"], "method": "client_secret_basic"},
            )
            assert authenticated.status_code == 200, authenticated.text
        # Using the token does not print it again (no token in a log line).
        assert served.output.count(token) == 1

    # serve migrated the file, and the one stored token has every scope.
    assert _stored_revision(url) == _head_revision()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT scopes FROM admin_tokens")).scalars().all()
    finally:
        engine.dispose()
    assert len(stored) == 1
    scopes = json.loads(stored[0]) if isinstance(stored[0], str) else stored[0]
    assert set(scopes) == {READ, WRITE, AUTHENTICATE, "audit:read"}

    with serving(url, tmp_path, "second") as again:
        assert _tokens_in(again.output) == [], "a second start printed a token again"
        with httpx.Client(
            base_url=again.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http:
            listed = http.get("/v1/clients")
            assert listed.status_code == 200
            assert [item["name"] for item in listed.json()["items"]] == ["served"]


def test_serve_prints_no_token_when_the_database_holds_only_a_revoked_one(tmp_path):
    database = Database(_sqlite_url(tmp_path), tmp_path)
    database.migrate()
    database.create_token("old", READ)
    (line,) = database.token_lines()
    assert database.run("token", "revoke", line.split()[0]).returncode == 0
    with serving(database.url, tmp_path, "after-revoke") as served:
        assert _tokens_in(served.output) == []
    assert len(database.token_lines()) == 1


def test_serve_prints_no_token_when_one_was_created_with_the_cli(tmp_path):
    database = Database(_sqlite_url(tmp_path), tmp_path)
    database.migrate()
    token = database.create_token("first", READ)
    with serving(database.url, tmp_path, "existing") as served:
        assert _tokens_in(served.output) == []
        listed = httpx.get(
            f"{served.url}/v1/clients", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert listed.status_code == 200
