"""One statement on its own, sent through libpq directly: prepared once per
connection, its parameters sent as text, its rows loaded by psycopg's own
loaders.

The reads every request makes (the admin token; get and authenticate) are
single statements. Through psycopg's cursor each cost about 160,000
instructions of Python in the service's process, more than the rest of
a get; the same statement sent here costs about 45,000 (bench/README.md).
Transactions keep psycopg's cursor."""

import asyncio
import re
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, OperationalError, errors, pq
from psycopg.adapt import Transformer
from psycopg.types.string import TextLoader

from client_registry.repository import Params

# psycopg's placeholders, as SQLAlchemy compiles them, and its escaped %.
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


class _Prepared:
    """A statement as the server knows it: its name and its parameters' order."""

    def __init__(self, name: bytes, params: list[str]) -> None:
        self.name = name
        self.params = params


def numbered(sql: str) -> tuple[bytes, list[str]]:
    """The statement with $1, $2... for its named placeholders, and the names
    in that order (a name used twice is one parameter)."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(number, sql).encode(), names


def _text(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text input form; its type comes from the
    statement (SQLAlchemy casts the strings, the columns type the rest)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, datetime):
        # Query times come in UTC (validation.in_utc), within PostgreSQL's offsets.
        return value.isoformat().encode()
    raise TypeError(f"no text form for a parameter of type {type(value).__name__}")


class ReadConnection(AsyncConnection[tuple[Any, ...]]):
    """A psycopg connection that hands JSON back as text, as SQLite does (the
    repository decodes it, and a row of plain values can be a key), and
    sends single statements itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for json_type in ("json", "jsonb"):
            self.adapters.register_loader(json_type, TextLoader)
        self._statements: dict[str, _Prepared] = {}
        self._named = 0
        self._rows = Transformer.from_context(self)

    async def read(self, sql: str, params: Params) -> list[tuple[Any, ...]]:
        """The rows of one statement, run on its own (the connection is idle
        and in autocommit). Failures are psycopg's errors, as a cursor's."""
        prepared = self._statements.get(sql) or await self._prepare(sql)
        try:
            return await self._execute(prepared, params)
        except errors.InvalidSqlStatementName:
            # Gone from the session: psycopg deallocates every prepared
            # statement after a rollback, and a pooler may too.
            self._statements.clear()
            return await self._execute(await self._prepare(sql), params)

    async def _execute(self, prepared: _Prepared, params: Params) -> list[tuple[Any, ...]]:
        values = [_text(params[name]) for name in prepared.params]
        self.pgconn.send_query_prepared(prepared.name, values)
        result = await self._result()
        if result.status != pq.ExecStatus.TUPLES_OK:
            raise _error(result)
        self._rows.set_pgresult(result)
        return self._rows.load_rows(0, result.ntuples, tuple)

    async def _prepare(self, sql: str) -> _Prepared:
        text, names = numbered(sql)
        # Never a name used before: one left on the server would clash.
        self._named += 1
        prepared = _Prepared(f"registry_{self._named}".encode(), names)
        self.pgconn.send_prepare(prepared.name, text)
        result = await self._result()
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise _error(result)
        self._statements[sql] = prepared
        return prepared

    async def _result(self) -> pq.abc.PGresult:
        """Sends what is queued and waits for the one result of one statement."""
        pgconn = self.pgconn
        while pgconn.flush():
            await self._ready(writing=True)
        # Other requests run first: under load the answer is often in by
        # then, and no reader is registered and removed for it.
        await asyncio.sleep(0)
        results: list[pq.abc.PGresult] = []
        while True:
            pgconn.consume_input()
            while not pgconn.is_busy():
                result: pq.abc.PGresult | None = pgconn.get_result()
                if result is None:
                    if not results:
                        raise OperationalError("the server sent no result")
                    return results[0]
                results.append(result)
            await self._ready(writing=False)

    async def _ready(self, *, writing: bool) -> None:
        """Until the socket can be written, or read. Unbounded here: the
        caller's bound shuts the socket down, which wakes this wait."""
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = self.pgconn.socket
        watch, unwatch = (
            (loop.add_writer, loop.remove_writer)
            if writing
            else (loop.add_reader, loop.remove_reader)
        )
        watch(fd, _set_done, ready)
        try:
            await ready
        finally:
            unwatch(fd)


def _set_done(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)


def _error(result: pq.abc.PGresult) -> errors.Error:
    """The psycopg error a cursor would raise: its class names the SQLSTATE."""
    message = result.error_message.decode("utf-8", "replace")
    sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE)
    try:
        kind = errors.lookup(sqlstate.decode()) if sqlstate else errors.DatabaseError
    except KeyError:  # a SQLSTATE newer than this psycopg
        kind = errors.DatabaseError
    return kind(message)
