"""Progress of a long command on standard error, when a person watches it:
on a terminal a line rewritten in place, a few times a second, and the
final count; piped or redirected, nothing (a log or a script wants the
result, not the ticks)."""

import sys
import time
from typing import TextIO

# Often enough to look alive, rarely enough to cost nothing.
_EVERY_SECONDS = 0.25


class Progress:
    def __init__(self, what: str, *, stream: TextIO | None = None, wanted: bool = True) -> None:
        self._stream = stream or sys.stderr
        self._on = wanted and self._stream.isatty()
        self._what = what
        self._count = 0
        self._started = time.monotonic()
        self._shown = self._started

    def advance(self, count: int = 1) -> None:
        self._count += count
        if self._on and time.monotonic() - self._shown >= _EVERY_SECONDS:
            self._show()

    def done(self) -> None:
        if self._on:
            self._show()
            self._stream.write("\n")
            self._stream.flush()

    def _show(self) -> None:
        self._shown = time.monotonic()
        rate = self._count / max(self._shown - self._started, 1e-9)
        self._stream.write(f"\r{self._what}: {self._count} clients ({rate:,.0f}/s)")
        self._stream.flush()
