"""What an outage of the database looks like from the outside: a 503 that
says so, a quiet log, and fast answers while the database stays down."""

import logging
import time
from collections.abc import Callable

from client_registry.metrics import DATABASE_ERRORS
from client_registry.problems import Unavailable

logger = logging.getLogger("client_registry.database")

# How long callers are told to wait, and how long a database that failed to
# connect or hung is not asked again: long enough that an outage costs each
# request microseconds, short enough that recovery is seen within a second.
RETRY_AFTER_SECONDS = 1
# Repeats of a failure are counted and summed up in one line this often.
SUMMARY_INTERVAL_SECONDS = 60.0


class DatabaseDown(Unavailable):
    """A 503 for a kind of database failure (`cannot_connect`, `read_only`...)."""

    def __init__(self, kind: str, reason: str = "") -> None:
        super().__init__(
            f"the database is unavailable ({kind.replace('_', ' ')}); retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
        self.kind = kind
        self.reason = reason or kind.replace("_", " ")  # the driver's words, for the CLI


class FailureLog:
    """One log line per kind of failure; repeats are counted and summed up
    once a minute, so an hour of outage is a few kilobytes of log. No
    traceback: these failures are the database's, not the service's."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._repeats: dict[str, int] = {}
        self._since = clock()
        self._failures = 0

    def failed(self, kind: str, reason: str) -> None:
        DATABASE_ERRORS.labels(kind).inc()
        self._failures += 1
        if kind not in self._repeats:
            self._repeats[kind] = 0
            logger.warning("database failure (%s): %s", kind, reason)
        else:
            self._repeats[kind] += 1
        now = self._clock()
        if now - self._since >= SUMMARY_INTERVAL_SECONDS:
            self._summarize(now)

    def recovered(self) -> None:
        if self._failures:
            logger.warning("database available again after %d failed call(s)", self._failures)
            self._failures = 0
            self._repeats.clear()
            self._since = self._clock()

    def _summarize(self, now: float) -> None:
        for kind, count in self._repeats.items():
            if count:
                logger.warning(
                    "database failure (%s): %d more in the last %.0f s",
                    kind,
                    count,
                    now - self._since,
                )
                self._repeats[kind] = 0
        self._since = now


class Breaker:
    """After a connect failure or a hang, callers get a 503 at once for a
    second instead of each waiting out a timeout; then the database is
    tried again."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._open_until = 0.0
        self._kind = ""

    def check(self) -> None:
        if self._open_until and self._clock() < self._open_until:
            raise DatabaseDown(self._kind)

    def trip(self, kind: str) -> None:
        self._kind = kind
        self._open_until = self._clock() + RETRY_AFTER_SECONDS

    def reset(self) -> None:
        self._open_until = 0.0
