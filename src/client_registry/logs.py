"""Logging on standard error: a human line by default, one JSON object a line
for collectors. The same configuration serves uvicorn's own loggers (`serve`
hands it to uvicorn, in every worker) and the app (create_app)."""

import contextlib
import json
import logging
import logging.config
import sys
import time
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO

from client_registry import request_ids
from client_registry.settings import LogFormat, Settings

ACCESS_LOGGER = "client_registry.access"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


# The last whole second formatted: most lines share theirs with the line
# before, and formatting a datetime costs more than the rest of the line.
_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    """UTC to the millisecond (cut, as logging's own formatTime cuts it)."""
    global _second
    whole = int(created)
    if _second[0] != whole:
        _second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{int((created - whole) * 1000):03d}Z"


def _text_line(created: float, level: str, name: str, request_id: str | None, message: str) -> str:
    return f"{_timestamp(created)} {level} {name} [{request_id or '-'}] {message}"


def _json_entry(
    created: float, level: str, name: str, request_id: str | None, message: str
) -> dict[str, Any]:
    entry = {"time": _timestamp(created), "level": level, "logger": name, "message": message}
    if request_id is not None:
        entry["requestId"] = request_id
    return entry


def _exception_text(exc_info: ExcInfo) -> str:
    """Where an exception was raised and its type, never its message: a
    message can quote the input that caused it, a secret included."""
    kind, _, trace = exc_info
    where = "".join(traceback.format_tb(trace))
    return f"Traceback (most recent call last):\n{where}{kind.__name__} (message withheld)"


def _has_exception(record: logging.LogRecord) -> bool:
    return bool(record.exc_info) and record.exc_info[0] is not None  # type: ignore[index]


class TextFormatter(logging.Formatter):
    """`2025-01-02T03:04:05.678Z INFO client_registry.access [request id] message`"""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        line = _text_line(
            record.created, record.levelname, record.name, request_id, record.getMessage()
        )
        if _has_exception(record):
            line += "\n" + _exception_text(record.exc_info)  # type: ignore[arg-type]
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and requestId.
    Access lines (AccessLog) add method, path, status, durationMs and tokenId."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        entry = _json_entry(
            record.created, record.levelname, record.name, request_id, record.getMessage()
        )
        if _has_exception(record):
            entry["exception"] = _exception_text(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, default=str)


def _printable(path: str) -> str:
    """The path on one line: a percent-decoded newline must not forge a second."""
    return path if path.isprintable() else path.encode("unicode_escape").decode("ascii")


class AccessLog:
    """The access lines: one per request, in the configured format, at INFO
    on the access logger, written as its handler would write the record.

    Written without building a logging record: making one, finding its
    caller, filtering and handling it took a third of the instructions of
    a request that gets a client; writing the line directly, a tenth."""

    def __init__(self, log_format: LogFormat) -> None:
        self._json = log_format == "json"
        self._logger = logging.getLogger(ACCESS_LOGGER)

    def enabled(self) -> bool:
        return self._logger.isEnabledFor(logging.INFO)

    def write(
        self,
        *,
        request_id: str,
        method: str,
        path: str,
        status: int,
        duration_ms: float,
        token_id: str | None,
    ) -> None:
        created = time.time()
        token = token_id or "-"
        message = f"{method} {_printable(path)} {status} {duration_ms:.2f}ms token={token}"
        if self._json:
            entry = _json_entry(created, "INFO", ACCESS_LOGGER, request_id, message)
            entry.update(
                method=method, path=path, status=status, durationMs=duration_ms, tokenId=token_id
            )
            line = json.dumps(entry)
        else:
            line = _text_line(created, "INFO", ACCESS_LOGGER, request_id, message)
        # Standard error closed or broken: the line is lost, not the request.
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(line + "\n")


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request it was written for."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_ids.current.get()
        return True


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to the standard error of the moment, not the one of its
    creation, so a replaced sys.stderr (a test runner's) is never left behind."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def stderr_handler(log_format: LogFormat = "text") -> logging.Handler:
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def log_config(settings: Settings) -> dict[str, Any]:
    """A logging.config dictionary: every record to standard error through
    one handler; uvicorn's error logger through it too, its access logger
    off (the service writes its own access line, with the request id)."""
    level = settings.log_level

    def through_root() -> dict[str, Any]:
        return {"handlers": [], "level": level, "propagate": True}

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            "stderr": {"()": f"{__name__}.stderr_handler", "log_format": settings.log_format}
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": through_root(),
            "uvicorn.error": through_root(),
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            # SQL statement logging stays off whatever the level: a statement's
            # parameters can hold secret hashes and token digests.
            "sqlalchemy": {"handlers": [], "level": "WARNING", "propagate": True},
            # Alembic's INFO lines describe its plugins; the CLI says what it did.
            "alembic": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


def configure(settings: Settings) -> None:
    logging.config.dictConfig(log_config(settings))
    # Python's warnings become records too, so a JSON log stays all JSON.
    logging.captureWarnings(True)
