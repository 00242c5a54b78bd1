"""Export: every client as a line of JSON, in creation order, with the
hashes of its secrets (never a secret). Read in keyset batches, so memory
does not grow with the number of clients."""

import json
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import TextIO

from client_registry import repository
from client_registry.database import Database
from client_registry.progress import Progress
from client_registry.repository import ExportedClient
from client_registry.service import Clock

BATCH = 1000  # clients per read: one round trip per thousand keeps reads short


def export_line(row: ExportedClient, *, now: datetime) -> str:
    """The document a GET returns, plus secretHash and, while it still
    works, previousSecretHash (previousSecretExpiresAt is in the document)."""
    hashes = {"secretHash": row.secret_hash}
    expires_at = row.previous_secret_expires_at
    if row.previous_secret_hash is not None and expires_at is not None and expires_at > now:
        hashes["previousSecretHash"] = row.previous_secret_hash
    # The stored document is sent as it is, byte for byte as a GET sends it;
    # the hashes join it as its last members.
    return row.document[:-1] + "," + json.dumps(hashes, separators=(",", ":"))[1:] + "\n"


async def export_clients(db: Database, *, out: TextIO, now: Clock) -> int:
    """Write every client to `out`; returns how many."""
    # Lines going to the terminal would be mixed with the progress line.
    progress = Progress("exported", wanted=not out.isatty())
    after_seq, count = 0, 0
    while rows := await repository.export_batch(db.scans, after_seq=after_seq, limit=BATCH):
        at = now()
        out.writelines(export_line(row, now=at) for row in rows)
        after_seq = rows[-1].seq
        count += len(rows)
        progress.advance(len(rows))
    progress.done()
    return count


@contextmanager
def written_whole(path: str) -> Iterator[TextIO]:
    """A file that takes the place of `path` only once the export is whole,
    so an export that fails midway (the database unreachable, say) leaves
    an earlier one as it was. Readable by its owner only: it holds every
    secret's hash. A path that is not itself a regular file (a link such
    as /dev/stdout, a pipe) is written through, as it is: replaced, it
    would stop being what it was."""
    try:
        in_place = not stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        in_place = False
    if in_place:
        with open(path, "w", encoding="utf-8") as out:
            yield out
        return
    folder, name = os.path.split(os.path.abspath(path))
    fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".partial")
    try:
        with open(fd, "w", encoding="utf-8") as out:
            yield out
        os.replace(partial, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(partial)
        raise
