"""Import: every line of a file checked, then written in one transaction, or
nothing written at all.

Two passes keep memory flat and locks short. The first reads the lines,
checks each by the API's rules and hashes plaintext secrets (password-grade,
on every core), spooling the finished rows to a private temporary file; no
lock is held meanwhile. The second, in one transaction, checks the rows'
ids against the database batch by batch and writes them with one driver
call a batch, in the order of the file, which becomes their creation order."""

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Literal

from client_registry import audit, repository
from client_registry.database import Database
from client_registry.import_lines import ClientImport, check_line, utc
from client_registry.progress import Progress
from client_registry.repository import Runner
from client_registry.schemas import client_document
from client_registry.secrets import SecretHasher
from client_registry.service import metadata_values, new_revision

OnConflict = Literal["fail", "skip", "replace"]
# Rows per driver call and per check of ids: a round trip costs what a few
# hundred rows do, and a thousand rows of documents stay under a few MB.
BATCH = 1000
_TIMES = ("secret_created_at", "previous_secret_expires_at", "created_at", "updated_at")
# hashlib's PBKDF2 releases the GIL while it computes, so threads use every core.
HASH_THREADS = os.cpu_count() or 1


@dataclass
class Outcome:
    lines: int = 0
    created: int = 0
    replaced: int = 0
    skipped: int = 0
    # (line number, "field: message"), the file's bad lines.
    errors: list[tuple[int, str]] = field(default_factory=list)

    def bad(self, number: int, errors: Iterable[tuple[str, str]]) -> None:
        self.errors.append((number, "; ".join(f"{name}: {text}" for name, text in errors)))


class _Discard(Exception):
    """Leaves the transaction without keeping anything."""


def check_and_spool(
    lines: Iterable[bytes],
    *,
    hasher: SecretHasher,
    at: datetime,
    spool: IO[str],
    hash_secrets: bool,
) -> Outcome:
    """First pass: every line checked, good ones spooled as rows."""
    outcome = Outcome()
    seen: dict[str, int] = {}
    progress = Progress("checked")
    batch: list[tuple[int, ClientImport]] = []
    with ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="import-hash") as pool:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue  # a blank line, say the file's last
            outcome.lines += 1
            progress.advance()
            checked = check_line(raw, hasher=hasher)
            if isinstance(checked, list):
                outcome.bad(number, checked)
            elif checked.id in seen:
                outcome.bad(number, [("id", f"repeats the id of line {seen[checked.id]}")])
            else:
                seen[checked.id] = number
                batch.append((number, checked))
            if len(batch) >= BATCH:
                _spool(batch, hasher=hasher, at=at, spool=spool, pool=pool, hashing=hash_secrets)
                batch = []
        _spool(batch, hasher=hasher, at=at, spool=spool, pool=pool, hashing=hash_secrets)
    progress.done()
    return outcome


def _spool(
    batch: list[tuple[int, ClientImport]],
    *,
    hasher: SecretHasher,
    at: datetime,
    spool: IO[str],
    pool: ThreadPoolExecutor,
    hashing: bool,
) -> None:
    given = [client.secret for _, client in batch if client.secret is not None]
    hashed = iter(pool.map(lambda s: hasher.hash(s, generated=False), given) if hashing else [])
    for number, client in batch:
        # A dry run checks a plaintext secret but spends no time hashing it.
        secret_hash = client.secret_hash or next(hashed, "")
        values = _row(client, secret_hash=secret_hash, hasher=hasher, at=at)
        for name in _TIMES:
            values[name] = values[name] and values[name].isoformat()
        spool.write(json.dumps([number, values]) + "\n")


def _row(
    client: ClientImport, *, secret_hash: str, hasher: SecretHasher, at: datetime
) -> dict[str, Any]:
    """The client's columns. A given plaintext secret is a chosen one; a
    hash's kind is read from the hash (see SecretHasher.generated_hash)."""
    previous = client.previous_secret_hash
    values = {
        "id": client.id,
        **metadata_values(client),
        "secret_hash": secret_hash,
        "secret_generated": client.secret is None and hasher.generated_hash(secret_hash),
        "secret_created_at": utc(client.secret_created_at) or at,
        "previous_secret_hash": previous,
        "previous_secret_generated": None if previous is None else hasher.generated_hash(previous),
        "previous_secret_expires_at": utc(client.previous_secret_expires_at),
        "created_at": utc(client.created_at) or at,
        "updated_at": utc(client.updated_at) or at,
        "revision": new_revision(),
    }
    values["document"] = client_document(values)
    return values


def _spooled(spool: IO[str]) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    spool.seek(0)
    batch = []
    for text in spool:
        number, values = json.loads(text)
        for name in _TIMES:
            values[name] = values[name] and datetime.fromisoformat(values[name])
        batch.append((number, values))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def write_spooled(
    db: Database,
    *,
    spool: IO[str],
    outcome: Outcome,
    on_conflict: OnConflict,
    at: datetime,
    dry_run: bool,
) -> None:
    """Second pass: ids checked against the database, and every row written
    in one transaction unless a line is bad or this is a dry run (then the
    checks run as plain reads and nothing is written)."""
    if dry_run or outcome.errors:
        await _check_and_write(db.scans, spool, outcome, on_conflict, at, write=False)
        return
    try:
        async with db.transaction() as tx:
            await repository.lock_creation(tx)
            await _check_and_write(tx, spool, outcome, on_conflict, at, write=True)
            if outcome.errors:
                raise _Discard
    except _Discard:
        outcome.created = outcome.replaced = outcome.skipped = 0


async def _check_and_write(
    db: Runner,
    spool: IO[str],
    outcome: Outcome,
    on_conflict: OnConflict,
    at: datetime,
    *,
    write: bool,
) -> None:
    progress = Progress("written" if write else "checked against the database")
    for batch in _spooled(spool):
        ids = [values["id"] for _, values in batch]
        stored = {
            row.id: row.document for row in await repository.documents_of_ids(db, client_ids=ids)
        }
        new: list[dict[str, Any]] = []
        replaced: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for number, values in batch:
            before = stored.get(values["id"])
            if before is not None and on_conflict == "fail":
                message = "a client with this id exists (see --on-conflict)"
                outcome.bad(number, [("id", message)])
                continue
            if before is not None and on_conflict == "skip":
                outcome.skipped += 1
                continue
            (new if before is None else replaced).append(values)
            events.append(_event(before, values, at))
        outcome.created += len(new)
        outcome.replaced += len(replaced)
        progress.advance(len(batch))
        if write and not outcome.errors:
            await _write(db, new=new, replaced=replaced, events=events)
    progress.done()


def _event(before: str | None, values: dict[str, Any], at: datetime) -> dict[str, Any]:
    """client.imported: every field of the document that the import set or
    changed, as a create or a replace lists them, and the secret by name."""
    changes = audit.client_changes(before, values["document"], secret_changed=True)
    return audit.event(
        audit.CLIENT_IMPORTED, audit.COMMAND_LINE, at=at, client_id=values["id"], changes=changes
    )


async def _write(
    tx: Runner,
    *,
    new: list[dict[str, Any]],
    replaced: list[dict[str, Any]],
    events: list[dict[str, Any]],
) -> None:
    if new and await repository.insert_clients(tx, rows=new) != len(new):
        # Creators take turns on a lock this transaction holds; an id that
        # appeared since the check means that guarantee broke.
        raise RuntimeError("a client appeared during the import; nothing was imported")
    if replaced:
        await repository.update_clients(tx, rows=replaced)
    if events:
        await repository.insert_audit_events(tx, events=events)


def private_spool() -> IO[str]:
    """A temporary file only this user can read (it holds secret hashes),
    gone when closed."""
    return tempfile.TemporaryFile("w+", encoding="utf-8", prefix="client-registry-import-")
