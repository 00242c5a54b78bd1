"""The log of a real `client-registry serve` (API.md section 7): access lines
with the request id and the admin token's id, both formats, and not one
secret, token, hash or Authorization value at any level."""

import base64
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from passlib.hash import sha256_crypt
from sqlalchemy import Engine, text

from serving import environment, run_cli, serving

ALL = ("clients:read", "clients:write", "clients:authenticate")
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@dataclass
class Session:
    """What a test sent: the requests (by request id) and every secret value."""

    http: httpx.Client
    token_id: str
    sent: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    secret_values: list[str] = field(default_factory=list)

    def call(self, method: str, path: str, status: int, **kwargs: Any) -> httpx.Response:
        request_id = f"logs-{len(self.sent)}-{secrets.token_hex(4)}"
        headers = {"X-Request-ID": request_id, **kwargs.pop("headers", {})}
        response = self.http.request(method, path, headers=headers, **kwargs)
        assert response.status_code == status, response.text
        assert response.headers["X-Request-ID"] == request_id
        self.sent[request_id] = (method, path, status)
        return response

    def created(self, **fields: Any) -> tuple[str, str]:
        body = {"name": "logged", "redirect": ["https://logs.example.com/cb"], **fields}
        document = self.call("POST", "/v1/clients", 201, json=body).json()
        self.secret_values.append(document["secret"])
        return document["id"], document["secret"]

    def rotated(self, client_id: str, **fields: Any) -> str:
        path = f"/v1/clients/{client_id}/rotate-secret"
        secret: str = self.call("POST", path, 200, json=fields).json()["secret"]
        self.secret_values.append(secret)
        return secret

    def authenticate(self, client_id: str, secret: str, status: int, **kwargs: Any) -> None:
        body = {"secret": secret, "method": "client_secret_basic"}
        self.call("POST", f"/v1/clients/{client_id}/authenticate", status, json=body, **kwargs)


def given() -> str:
    return "given-" + secrets.token_urlsafe(30)


def exercise(session: Session, engine: Engine) -> str:
    """Creates, rotations, authentications (a hash upgrade among them) and
    refusals whose requests hold secrets; returns the legacy hash planted."""
    first, first_secret = session.created()
    second, second_secret = session.created(secret=given())
    third, third_secret = session.created()
    current = session.rotated(first, gracePeriodSeconds=3600)
    second_current = session.rotated(second, gracePeriodSeconds=3600, secret=given())
    for client_id, secret in [
        (first, current),
        (first, first_secret),
        (second, second_current),
        (second, second_secret),
    ]:
        session.authenticate(client_id, secret, 200)
    for wrong in ("crs_" + secrets.token_urlsafe(32), given()):
        session.secret_values.append(wrong)
        session.authenticate(first, wrong, 401)
        session.authenticate("no-such-client", wrong, 401)

    legacy = sha256_crypt.using(rounds=5_000).hash(third_secret)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE clients SET secret_hash = :hash WHERE id = :id"),
            {"hash": legacy, "id": third},
        )
    session.authenticate(third, third_secret, 200)  # upgrades the legacy hash

    short, oversized = given()[:20], given() * 40
    session.secret_values += [short, oversized]
    body = {"name": "short", "redirect": ["https://logs.example.com/cb"], "secret": short}
    session.call("POST", "/v1/clients", 422, json=body)
    session.call("PATCH", f"/v1/clients/{first}", 422, json={"secret": short})
    malformed = f'{{"secret": "{short}", '.encode()
    headers = {"Content-Type": "application/json"}
    session.call("POST", "/v1/clients", 400, content=malformed, headers=headers)
    session.authenticate(first, oversized, 422)
    return legacy


def stored_values(engine: Engine) -> list[str]:
    """Every hash and token digest the database holds."""
    with engine.connect() as conn:
        hashes = conn.execute(text("SELECT secret_hash, previous_secret_hash FROM clients"))
        digests = conn.execute(text("SELECT digest FROM admin_tokens")).scalars()
        values = [value for row in hashes for value in row if value] + list(digests)
    assert values
    return values


def hash_parts(value: str) -> list[str]:
    """A hash and its checksum alone, so a reformatted hash is caught too."""
    return [value, value.rsplit("$", 1)[-1]]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_debug_log_holds_access_lines_and_no_secret(
    database: str, engine: Engine, tmp_path: Path, log_format: str
) -> None:
    admin = run_cli(database, tmp_path, "token", "create", "--name", "logs", *_scopes(ALL))
    admin = admin.strip()
    reader = run_cli(database, tmp_path, "token", "create", "--name", "reader", *_scopes(ALL[:1]))
    reader = reader.strip()
    token_ids = _token_ids(database, tmp_path)
    settings = {"log_level": "debug", "log_format": log_format, "given_secret_rounds": "1000"}
    wrong_token = "crat_" + secrets.token_urlsafe(32)
    basic = base64.b64encode(f"admin:{given()}".encode()).decode()

    with (
        serving(database, tmp_path, env=environment(database, **settings)) as served,
        httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {admin}"}) as http,
    ):
        session = Session(http, token_ids["logs"])
        legacy = exercise(session, engine)
        session.call("GET", "/v1/clients", 401, headers={"Authorization": f"Bearer {wrong_token}"})
        session.call("GET", "/v1/clients", 401, headers={"Authorization": f"Basic {basic}"})
        session.call(
            "POST", "/v1/clients", 403, json={}, headers={"Authorization": f"Bearer {reader}"}
        )
        session.call("GET", "/healthz", 200)
    log = served.stderr

    forbidden = [admin, reader, wrong_token, basic, *session.secret_values]
    forbidden += [part for value in [legacy, *stored_values(engine)] for part in hash_parts(value)]
    for value in forbidden:
        assert value not in log, "a secret, token or hash reached the log"
    assert "DEBUG" in log, "the run did not log at DEBUG level"

    access = _access_lines(log, log_format)
    probes = {rid for rid, line in access.items() if line["path"] == "/healthz"}
    assert set(access) - probes == set(session.sent) - probes, "not one line per request"
    for request_id, (method, path, status) in session.sent.items():
        line = access[request_id]
        assert (line["method"], line["path"], line["status"]) == (method, path, status)
        assert line["durationMs"] >= 0
    assert access[_id_of(session, "POST", "/v1/clients", 201)]["tokenId"] == token_ids["logs"]
    assert access[_id_of(session, "POST", "/v1/clients", 403)]["tokenId"] == token_ids["reader"]
    assert access[_id_of(session, "GET", "/v1/clients", 401)]["tokenId"] is None


def _scopes(scopes: tuple[str, ...]) -> list[str]:
    return [arg for scope in scopes for arg in ("--scope", scope)]


def _token_ids(database: str, workdir: Path) -> dict[str, str]:
    lines = run_cli(database, workdir, "token", "list").splitlines()
    return {line.split("\t")[1]: line.split("\t")[0] for line in lines}


def _id_of(session: Session, method: str, path: str, status: int) -> str:
    return next(rid for rid, sent in session.sent.items() if sent == (method, path, status))


ACCESS_TEXT = re.compile(
    rf"{TIMESTAMP} INFO client_registry\.access \[(?P<requestId>[^\]]+)\] "
    r"(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) (?P<durationMs>[\d.]+)ms "
    r"token=(?P<tokenId>\S+)"
)


def _access_lines(log: str, log_format: str) -> dict[str, dict[str, Any]]:
    """The access lines by request id, with their fields as JSON names."""
    lines: dict[str, dict[str, Any]] = {}
    for line in log.splitlines():
        if log_format == "json":
            entry = json.loads(line)  # every line is one JSON object
            assert {"time", "level", "logger", "message"} <= set(entry), line
            assert re.fullmatch(TIMESTAMP, entry["time"]), line
            if entry["logger"] != "client_registry.access":
                continue
        else:
            assert re.match(rf"{TIMESTAMP} [A-Z]+ \S+ \[", line), line
            match = ACCESS_TEXT.fullmatch(line)
            if match is None:
                continue
            entry = match.groupdict()
            entry["status"] = int(entry["status"])
            entry["durationMs"] = float(entry["durationMs"])
            entry["tokenId"] = None if entry["tokenId"] == "-" else entry["tokenId"]
        assert entry["requestId"] not in lines, f"two access lines for one request: {line}"
        lines[entry["requestId"]] = entry
    return lines


def test_a_newline_in_a_path_cannot_forge_an_access_line(database: str, tmp_path: Path) -> None:
    forged = "2001-01-01T00:00:00.000Z INFO client_registry.access [forged] GET / 200 1.00ms"
    path = "/v1/clients/a%0A" + forged.replace(" ", "%20").replace("[", "%5B").replace("]", "%5D")
    with serving(database, tmp_path, env=environment(database)) as served:
        response = httpx.get(served.url + path, headers={"X-Request-ID": "newline"})
        assert response.status_code == 401
    lines = served.stderr.splitlines()
    assert not [line for line in lines if line.startswith("2001-")], "a line was forged"
    (line,) = [line for line in lines if "[newline]" in line]
    assert " GET /v1/clients/a\\n2001-01-01T00:00:00.000Z INFO " in line
    assert re.search(r" 401 [\d.]+ms token=-$", line), line
