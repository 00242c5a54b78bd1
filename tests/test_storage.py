"""What is stored (API.md section 3): hashes only, a schema the migrations
build exactly, and SQLite set up for several processes."""

import base64
import re
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from passlib.context import CryptContext
from sqlalchemy import inspect, make_url, text

from builders import new_client, unique_name
from client_registry.db import make_engine
from client_registry.migrate import alembic_config
from client_registry.tables import Base
from client_registry.tokens import revoke_token, token_digest
from conftest import on_database

PASSLIB_PBKDF2 = re.compile(r"^\$pbkdf2-sha256\$\d+\$[A-Za-z0-9./]+\$[A-Za-z0-9./]+$")
REDIRECT = ["https://stored.example.com/cb"]


def _given_secret() -> str:
    return "given-" + secrets.token_urlsafe(30)


def _needles(value: str) -> set[str]:
    """The value and the parts of it that must not be stored either: the random
    part after a `xxx_` prefix, and that part decoded from base64 (as hex)."""
    found = {value}
    for prefix in ("crat_", "crs_", "given-"):
        if value.startswith(prefix):
            random_part = value.removeprefix(prefix)
            found.add(random_part)
            padded = random_part + "=" * (-len(random_part) % 4)
            raw = base64.urlsafe_b64decode(padded)
            found.update({raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode()})
    return found


@pytest.fixture(scope="module")
def stored(service: Any) -> dict[str, Any]:
    """Clients with generated and given secrets, and tokens (one revoked), made
    through the service; returns what must never be found in the database."""
    api = service.client()
    given = _given_secret()
    clients = [
        new_client(api),
        new_client(api, secret=given, id=f"given-{unique_name()}"),
        new_client(api, grantTypes=["client_credentials"], redirect=[]),
    ]
    # Changes through PUT and PATCH must not store anything secret either.
    replaced = api.put(
        f"/v1/clients/{clients[0]['id']}", json={"name": "replaced", "redirect": REDIRECT}
    )
    assert replaced.status_code == 200, replaced.text
    patched = api.patch(f"/v1/clients/{clients[1]['id']}", json={"firstParty": True})
    assert patched.status_code == 200, patched.text
    # A rotation with a grace period keeps two secrets valid; neither may be stored.
    previous = {str(c["id"]): str(c["secret"]) for c in clients}
    rotated = api.post(
        f"/v1/clients/{clients[0]['id']}/rotate-secret", json={"gracePeriodSeconds": 3600}
    )
    assert rotated.status_code == 200, rotated.text
    given_again = _given_secret()
    rotated_given = api.post(
        f"/v1/clients/{clients[2]['id']}/rotate-secret",
        json={"gracePeriodSeconds": 3600, "secret": given_again},
    )
    assert rotated_given.status_code == 200, rotated_given.text
    current = {**previous}
    current[str(clients[0]["id"])] = rotated.json()["secret"]
    current[str(clients[2]["id"])] = given_again
    # Each secret that works is used once, as the authorization server would.
    for client_id, secret in [*previous.items(), *current.items()]:
        checked = api.post(
            f"/v1/clients/{client_id}/authenticate",
            json={"secret": secret, "method": "client_secret_post"},
        )
        assert checked.status_code == 200, checked.text

    tokens = [
        service.token,
        service.mint_token("clients:read"),
        service.mint_token("clients:write"),
    ]
    revoked = service.mint_token("clients:read", "clients:write")
    with service.engine.connect() as conn:
        revoked_id = conn.execute(
            text("SELECT id FROM admin_tokens WHERE digest = :digest"),
            {"digest": token_digest(revoked)},
        ).scalar_one()
    assert on_database(service.database, lambda db: revoke_token(db, token_id=revoked_id))
    for token in tokens:  # each one used once, so nothing is stored only on first use
        assert service.client(token).get("/v1/clients").status_code in (200, 403)
    assert service.client(revoked).get("/v1/clients").status_code == 401
    tokens.append(revoked)

    assert current[str(clients[1]["id"])] == given
    assert all(previous[str(c["id"])].startswith("crs_") for c in (clients[0], clients[2]))
    return {
        "clients": clients,
        "secrets": current,  # the newest secret of each client
        "previous": previous,  # secrets still valid in their grace period (or unchanged)
        "tokens": tokens,
    }


def _sqlite_path(database: str) -> Path | None:
    url = make_url(database)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def _dump_sqlite(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every column of every table, read with the stdlib driver."""
    dump: dict[str, list[dict[str, Any]]] = {}
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608
            dump[table] = [dict(row) for row in rows]
    conn.close()
    return dump


def _dump_sqlalchemy(engine: Any) -> dict[str, list[dict[str, Any]]]:
    dump: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()  # noqa: S608
            dump[table] = [dict(row) for row in rows]
    return dump


def _dump(database: str, engine: Any) -> dict[str, list[dict[str, Any]]]:
    path = _sqlite_path(database)
    return _dump_sqlite(path) if path is not None else _dump_sqlalchemy(engine)


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    return str(value)


def _cells(dump: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str, str]]:
    return [
        (table, column, _as_text(value))
        for table, rows in dump.items()
        for row in rows
        for column, value in row.items()
    ]


def test_no_secret_and_no_token_is_stored(database, engine, stored):
    dump = _dump(database, engine)
    cells = _cells(dump)
    # The scan does see the data: the clients and tokens are there.
    assert len(dump["clients"]) >= len(stored["clients"])
    assert len(dump["admin_tokens"]) >= len(stored["tokens"])
    everything = "\n".join(value for _table, _column, value in cells)
    for client in stored["clients"]:
        assert client["id"] in everything

    all_secrets = [*stored["secrets"].values(), *stored["previous"].values()]
    for kind, values in (("secret", all_secrets), ("token", stored["tokens"])):
        for value in values:
            for needle in _needles(value):
                hits = [(t, c) for t, c, cell in cells if needle in cell]
                assert not hits, f"a {kind} (or a part of it) is stored in {hits}"


def test_no_secret_and_no_token_in_the_sqlite_files(database, stored):
    """Not even in a page the queries do not show (the file and its WAL)."""
    path = _sqlite_path(database)
    if path is None:
        pytest.skip("SQLite only")
    files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    content = b"".join(p.read_bytes() for p in files)
    assert content
    for value in [*stored["secrets"].values(), *stored["previous"].values(), *stored["tokens"]]:
        for needle in _needles(value):
            assert needle.encode() not in content, "a secret or a token is in the file"


def test_secret_hashes_are_passlib_pbkdf2_strings_of_the_secret(database, engine, stored):
    dump = _dump(database, engine)
    rows = {row["id"]: row for row in dump["clients"]}
    context = CryptContext(schemes=["pbkdf2_sha256"])
    for client_id, secret in stored["secrets"].items():
        previous = stored["previous"][client_id]
        row = rows[client_id]
        hashes = [v for v in row.values() if isinstance(v, str) and v.startswith("$")]
        assert hashes, "no secret hash on the client row"
        for hashed in hashes:
            assert PASSLIB_PBKDF2.match(hashed), hashed
        assert len(hashes) == (1 if previous == secret else 2), hashes
        assert sum(context.verify(secret, h) for h in hashes) == 1, "no hash of the secret"
        assert sum(context.verify(previous, h) for h in hashes) == 1, "no hash of the old one"
        assert not any(context.verify(secret + "x", h) for h in hashes)


def test_each_client_has_its_own_salt(database, engine, stored):
    dump = _dump(database, engine)
    hashes = [
        value
        for row in dump["clients"]
        for value in row.values()
        if isinstance(value, str) and value.startswith("$pbkdf2-sha256$")
    ]
    salts = [h.split("$")[3] for h in hashes]
    assert len(hashes) >= len(stored["clients"])
    assert len(set(salts)) == len(salts)


def test_models_and_newest_migration_agree(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_database_is_at_the_newest_revision(engine):
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head


def test_sqlite_runs_in_wal_mode_with_foreign_keys(database):
    path = _sqlite_path(database)
    if path is None:
        pytest.skip("SQLite only")
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
    # WAL is a property of the file: another process opening it sees it too.
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_every_new_sqlite_connection_has_foreign_keys_on(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        for _ in range(3):
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            engine.dispose()  # the next connect opens a new connection
    finally:
        engine.dispose()


def test_a_deleted_last_client_does_not_hide_the_next_one_from_a_cursor(api):
    """Sequence numbers are never reused, so a cursor taken before a delete
    still reaches every client created after it."""
    tag = unique_name("walk")
    ids = [new_client(api, name=f"{tag}-{n}")["id"] for n in range(3)]
    page = api.get("/v1/clients", params={"name": tag, "limit": 2}).json()
    assert [c["id"] for c in page["items"]] == ids[:2]
    for client_id in ids[1:]:
        assert api.delete(f"/v1/clients/{client_id}").status_code == 204
    created = new_client(api, name=f"{tag}-3")
    rest = api.get("/v1/clients", params={"name": tag, "cursor": page["nextCursor"]}).json()
    assert [c["id"] for c in rest["items"]] == [created["id"]]
