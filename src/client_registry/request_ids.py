"""Request ids: the caller's X-Request-ID when it is sane, a new one otherwise.

The id of the request being served is in a context variable, so every log
line written on its behalf (in a worker thread too) can carry it."""

import os
import random
from contextvars import ContextVar

HEADER = b"x-request-id"
MAX_LENGTH = 128

current: ContextVar[str | None] = ContextVar("request_id", default=None)


def _printable(raw: bytes) -> bool:
    # Printable ASCII only (0x20-0x7E): nothing that could break a log line
    # or a header, and nothing a terminal would interpret.
    return 0 < len(raw) <= MAX_LENGTH and all(0x20 <= byte <= 0x7E for byte in raw)


# Request ids need to be unique, not secret: drawn from a generator seeded
# from the system's randomness, and seeded anew in a forked child, they cost
# no system call (os.urandom on every request was one).
_draw = random.Random()
os.register_at_fork(after_in_child=_draw.seed)


def new_request_id() -> str:
    # 128 random bits as 32 hex digits, like a uuid4 without building one.
    return f"{_draw.getrandbits(128):032x}"


def accepted_or_new(raw: bytes | None) -> str:
    """The caller's id when it is 1-128 printable ASCII characters, else a new one."""
    if raw is not None and _printable(raw):
        return raw.decode("ascii")
    return new_request_id()
