"""Import: every line of a file checked, then written in one transaction, or
nothing written at all.

Two passes keep memory flat and locks short. The first checks the lines by
the API's rules and hashes plaintext secrets on worker processes
(`import_rows`), spooling the finished rows to a private temporary file; no
lock is held meanwhile. The second, in one transaction, checks the rows'
ids against the database batch by batch and writes them with one driver
call a batch, in the order of the file, which becomes their creation order."""

import os
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import IO, Literal

from client_registry import repository
from client_registry.database import Database
from client_registry.import_lines import describe
from client_registry.import_rows import (
    Bad,
    Prepared,
    check_chunk,
    imported_event,
    read_spool,
    spool_write,
    start_worker,
)
from client_registry.progress import Progress
from client_registry.repository import Params, Runner
from client_registry.settings import Settings

OnConflict = Literal["fail", "skip", "replace"]
# Rows per driver call and per check of ids: a round trip costs what a few
# hundred rows do, and a thousand rows of documents stay under a few MB.
BATCH = 1000
# Lines per task of a worker: a hundred checks cost milliseconds, against a
# fraction of a millisecond to hand a task over; a plaintext secret costs a
# fraction of a second to hash, so a task holds few of them and every core
# keeps busy to the end of the file. A line is counted as holding one by a
# glance at its bytes: an estimate of cost, not a check.
CHUNK = 100
SECRETS_PER_CHUNK = 2
_PLAINTEXT = b'"secret"'
WORKERS = os.cpu_count() or 1
_BOM = "\ufeff".encode()


@dataclass
class Outcome:
    lines: int = 0
    created: int = 0
    replaced: int = 0
    skipped: int = 0
    # (line number, "field: message"), the file's bad lines.
    errors: list[tuple[int, str]] = field(default_factory=list)

    def bad(self, number: int, errors: Iterable[tuple[str, str]]) -> None:
        self.errors.append((number, describe(errors)))


class _Discard(Exception):
    """Leaves the transaction without keeping anything."""


def check_and_spool(
    lines: Iterable[bytes],
    *,
    settings: Settings,
    at: datetime,
    spool: IO[bytes],
    hash_secrets: bool,
) -> Outcome:
    """First pass: every line checked, good ones spooled as rows."""
    outcome = Outcome()
    seen: dict[str, int] = {}
    progress = Progress("checked")
    work = partial(check_chunk, at=at, hash_secrets=hash_secrets)
    # A few chunks ahead per worker keeps every core busy and memory flat.
    pending: deque[Future[list[Prepared | Bad]]] = deque()
    with ProcessPoolExecutor(WORKERS, initializer=start_worker, initargs=(settings,)) as pool:
        for chunk in _chunks(lines, outcome):
            pending.append(pool.submit(work, chunk))
            if len(pending) > 2 * WORKERS:
                _take(pending.popleft().result(), outcome, seen, spool, progress)
        while pending:
            _take(pending.popleft().result(), outcome, seen, spool, progress)
    progress.done()
    return outcome


def _chunks(lines: Iterable[bytes], outcome: Outcome) -> Iterator[list[tuple[int, bytes]]]:
    chunk, costly = [], 0
    for number, raw in enumerate(lines, start=1):
        if number == 1:
            raw = raw.removeprefix(_BOM)  # editors on some systems start files with one
        if not raw.strip():
            continue  # a blank line, say the file's last
        outcome.lines += 1
        chunk.append((number, raw))
        costly += _PLAINTEXT in raw
        if len(chunk) >= CHUNK or costly >= SECRETS_PER_CHUNK:
            yield chunk
            chunk, costly = [], 0
    if chunk:
        yield chunk


def _take(
    results: list[Prepared | Bad],
    outcome: Outcome,
    seen: dict[str, int],
    spool: IO[bytes],
    progress: Progress,
) -> None:
    """A chunk's lines, in the file's order: the first of an id is kept."""
    for result in results:
        if isinstance(result, Bad):
            outcome.errors.append(result)
        elif result.client_id in seen:
            first = seen[result.client_id]
            outcome.bad(result.number, [("id", f"repeats the id of line {first}")])
        else:
            seen[result.client_id] = result.number
            spool_write(spool, result)
    progress.advance(len(results))


async def write_spooled(
    db: Database,
    *,
    spool: IO[bytes],
    outcome: Outcome,
    on_conflict: OnConflict,
    at: datetime,
    dry_run: bool,
) -> None:
    """Second pass: ids checked against the database, and every row written
    in one transaction unless a line is bad or this is a dry run (then the
    checks run as plain reads and nothing is written)."""
    if dry_run or outcome.errors:
        await _check_and_write(
            db.scans, spool=spool, outcome=outcome, on_conflict=on_conflict, at=at, write=False
        )
        return
    try:
        async with db.transaction() as tx:
            await repository.lock_creation(tx)
            await _check_and_write(
                tx, spool=spool, outcome=outcome, on_conflict=on_conflict, at=at, write=True
            )
            if outcome.errors:
                raise _Discard
    except _Discard:
        outcome.created = outcome.replaced = outcome.skipped = 0


async def _check_and_write(
    db: Runner,
    *,
    spool: IO[bytes],
    outcome: Outcome,
    on_conflict: OnConflict,
    at: datetime,
    write: bool,
) -> None:
    progress = Progress("written" if write else "checked against the database")
    for batch in read_spool(spool, batch=BATCH):
        ids = [row.client_id for row in batch]
        stored = await repository.documents_of_ids(db, client_ids=ids)
        before = {row.id: row.document for row in stored}
        new: list[Params] = []
        replaced: list[Params] = []
        events: list[Params] = []
        for row in batch:
            old = before.get(row.client_id)
            if old is None:
                new.append(row.params)
                events.append(row.created_event)
            elif on_conflict == "fail":
                message = "a client with this id exists (see --on-conflict)"
                outcome.bad(row.number, [("id", message)])
            elif on_conflict == "skip":
                outcome.skipped += 1
            else:
                replaced.append(row.params)
                event = imported_event(old, row.document, client_id=row.client_id, at=at)
                events.append(db.sql.bind(event))
        outcome.created += len(new)
        outcome.replaced += len(replaced)
        progress.advance(len(batch))
        if write and not outcome.errors:
            await _write(db, new=new, replaced=replaced, events=events)
    progress.done()


async def _write(
    tx: Runner, *, new: list[Params], replaced: list[Params], events: list[Params]
) -> None:
    if new and await repository.insert_clients(tx, params=new) != len(new):
        # Creators take turns on a lock this transaction holds; an id that
        # appeared since the check means that guarantee broke.
        raise RuntimeError("a client appeared during the import; nothing was imported")
    if replaced:
        await repository.update_clients(tx, params=replaced)
    if events:
        await repository.insert_audit_events(tx, params=events)


def private_spool() -> IO[bytes]:
    """A temporary file only this user can read (it holds secret hashes),
    gone when closed."""
    return tempfile.TemporaryFile(prefix="client-registry-import-")
