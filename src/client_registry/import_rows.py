"""The first pass of an import, on worker processes: lines checked, their
plaintext secrets hashed, their rows and audit events bound for the driver.

Checking a line is Python work that holds the GIL, and a password-grade hash
is a fraction of a second of CPU per secret; worker processes run both on
every core, so the one transaction later has only to send rows. Each worker
gets chunks of lines in the file's order and returns, per line, either its
prepared row or what is wrong with it."""

import pickle
import signal
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any, NamedTuple

from client_registry import audit, repository
from client_registry.db import database_url
from client_registry.import_lines import CheckedLine, check_line, describe, utc
from client_registry.repository import Params, Statements
from client_registry.schemas import client_document
from client_registry.secrets import SecretHasher
from client_registry.service import metadata_values, new_revision
from client_registry.settings import Settings


class Prepared(NamedTuple):
    """A good line, ready for the database."""

    number: int
    client_id: str
    document: str
    params: Params  # the client's columns, bound
    created_event: Params  # its client.imported event if it is new, bound


class Bad(NamedTuple):
    number: int
    message: str  # "field: message; ..."


class _Worker(NamedTuple):
    hasher: SecretHasher
    sql: Statements


_worker: _Worker | None = None


def start_worker(settings: Settings) -> None:
    global _worker
    # Ctrl-C is the command's to handle: it stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine = database_url(settings.database_url).get_backend_name()
    _worker = _Worker(SecretHasher(settings), Statements(engine))


def check_chunk(
    chunk: list[tuple[int, bytes]], *, at: datetime, hash_secrets: bool
) -> list[Prepared | Bad]:
    assert _worker is not None, "start_worker runs first"
    hasher, sql = _worker
    results: list[Prepared | Bad] = []
    for number, raw in chunk:
        checked = check_line(raw, hasher=hasher)
        if isinstance(checked, list):
            results.append(Bad(number, describe(checked)))
            continue
        secret = checked.client.secret
        if secret is None or not hash_secrets:  # a dry run spends no time hashing
            secret_hash = checked.client.secret_hash or ""
        else:
            secret_hash = hasher.hash(secret, generated=False)
        values = _row(checked, secret_hash=secret_hash, at=at)
        event = sql.bind(imported_event(None, values["document"], client_id=values["id"], at=at))
        params = repository.client_params(sql, values)
        results.append(Prepared(number, values["id"], values["document"], params, event))
    return results


def _row(line: CheckedLine, *, secret_hash: str, at: datetime) -> dict[str, Any]:
    """The client's columns; a plaintext secret is a chosen one."""
    client = line.client
    values = {
        "id": client.id,
        **metadata_values(client),
        "secret_hash": secret_hash,
        "secret_generated": bool(line.secret_generated),
        "secret_created_at": utc(client.secret_created_at) or at,
        "previous_secret_hash": client.previous_secret_hash,
        "previous_secret_generated": line.previous_generated,
        "previous_secret_expires_at": utc(client.previous_secret_expires_at),
        "created_at": utc(client.created_at) or at,
        "updated_at": utc(client.updated_at) or at,
        "revision": new_revision(),
    }
    values["document"] = client_document(values)
    return values


def imported_event(
    before: str | None, after: str, *, client_id: str, at: datetime
) -> dict[str, Any]:
    """client.imported: every field of the document the import set or
    changed, as a create or a replace lists them, and the secret by name."""
    changes = audit.client_changes(before, after, secret_changed=True)
    return audit.event(
        audit.CLIENT_IMPORTED, audit.COMMAND_LINE, at=at, client_id=client_id, changes=changes
    )


# The spool is a private temporary file this process writes and reads back
# itself, so pickle is safe here, and it keeps bound values (datetimes for
# PostgreSQL) exactly as they were.


def spool_write(spool: IO[bytes], row: Prepared) -> None:
    pickle.dump(row, spool, protocol=pickle.HIGHEST_PROTOCOL)


def read_spool(spool: IO[bytes], *, batch: int) -> Iterator[list[Prepared]]:
    """The spooled rows again, in the file's order, a batch at a time."""
    spool.seek(0)
    rows: list[Prepared] = []
    while True:
        try:
            rows.append(pickle.load(spool))  # noqa: S301 - our own file, see above
        except EOFError:
            break
        if len(rows) >= batch:
            yield rows
            rows = []
    if rows:
        yield rows
