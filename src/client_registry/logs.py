"""Logging on standard error: a human line by default, one JSON object a line
for collectors. The same configuration serves uvicorn's own loggers (`serve`
hands it to uvicorn, in every worker) and the app (create_app)."""

import json
import logging
import logging.config
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO

from client_registry import request_ids
from client_registry.settings import LogFormat, Settings

ACCESS_LOGGER = "client_registry.access"
# What an access line carries besides its message: (record attribute, JSON key).
ACCESS_FIELDS = (
    ("method", "method"),
    ("path", "path"),
    ("status", "status"),
    ("duration_ms", "durationMs"),
    ("token_id", "tokenId"),
)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _timestamp(record: logging.LogRecord) -> str:
    at = datetime.fromtimestamp(record.created, UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        request_id = getattr(record, "request_id", None) or "-"
        line = f"{_timestamp(record)} {record.levelname} {record.name} [{request_id}] "
        line += record.getMessage()
        if _has_exception(record):
            line += "\n" + _exception_text(record.exc_info)  # type: ignore[arg-type]
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, requestId and,
    on access lines, method, path, status, durationMs and tokenId."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["requestId"] = request_id
        for attribute, key in ACCESS_FIELDS:
            if hasattr(record, attribute):
                entry[key] = getattr(record, attribute)
        if _has_exception(record):
            entry["exception"] = _exception_text(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, default=str)


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
