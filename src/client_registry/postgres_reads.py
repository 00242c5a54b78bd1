"""One statement on its own, sent through libpq directly: prepared once per
connection, its parameters sent as text, its rows loaded by psycopg's own
loaders.

The reads every request makes (the admin token; get and authenticate) are
single statements. Through psycopg's cursor each cost about 160,000
instructions of Python in the service's process, more than the rest of
a get; the same statement sent here costs about 45,000 (bench/README.md).
Several such statements may go in one pipeline (`read_batch`): one write,
and the server answers them all in one wake. Transactions keep psycopg's
cursor."""

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, OperationalError, errors, pq
from psycopg.adapt import Transformer
from psycopg.types.string import TextLoader

from client_registry.repository import Params

# psycopg's placeholders, as SQLAlchemy compiles them, and its escaped %.
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")

Rows = list[tuple[Any, ...]]
# What a statement of a batch comes to: its rows, or the error it failed with.
Outcome = Rows | errors.Error


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
    sends single statements itself, alone or several in one pipeline."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for json_type in ("json", "jsonb"):
            self.adapters.register_loader(json_type, TextLoader)
        self._statements: dict[str, _Prepared] = {}
        self._named = 0
        self._rows = Transformer.from_context(self)

    async def read(self, sql: str, params: Params) -> Rows:
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

    async def read_batch(self, statements: Sequence[tuple[str, Params]]) -> list[Outcome]:
        """The rows of each statement, or its error, for statements sent in
        one pipeline: one write, one wake of the server for all of them.
        A sync follows each, so each runs in a transaction of its own, as a
        read on its own does, and one that fails fails alone."""
        if len(statements) == 1:
            return [await self._alone(*statements[0])]
        known = [self._statements.get(sql) for sql, _ in statements]
        sent = [index for index, prepared in enumerate(known) if prepared is not None]
        outcomes: list[Outcome | None] = [None] * len(statements)
        if sent:
            pgconn = self.pgconn
            pgconn.enter_pipeline_mode()
            try:
                for index in sent:
                    prepared = known[index]
                    assert prepared is not None
                    values = self._values(prepared, statements[index][1])
                    pgconn.send_query_prepared(prepared.name, values)
                    pgconn.pipeline_sync()
                results = await self._pipeline_results(len(sent))
                pgconn.exit_pipeline_mode()
            except BaseException:
                # Results may be left unread: the connection is of no further use.
                pgconn.finish()
                raise
            for index, result in zip(sent, results, strict=True):
                outcomes[index] = self._outcome(result)
        answered: list[Outcome] = []
        for statement, outcome in zip(statements, outcomes, strict=True):
            # A statement new to this connection, or gone from it, goes on its own.
            if outcome is None or isinstance(outcome, errors.InvalidSqlStatementName):
                outcome = await self._alone(*statement)
            answered.append(outcome)
        return answered

    async def _alone(self, sql: str, params: Params) -> Outcome:
        """One statement's rows or error; a lost connection fails the batch."""
        try:
            return await self.read(sql, params)
        except errors.Error as error:
            if self.closed:
                raise
            return error

    async def _pipeline_results(self, count: int) -> list[pq.abc.PGresult]:
        """The first result of each of `count` statements, each followed by a sync."""
        pgconn = self.pgconn
        while pgconn.flush():
            await self._ready(writing=True)
        await asyncio.sleep(0)
        results: list[pq.abc.PGresult] = []
        first: pq.abc.PGresult | None = None
        while True:
            pgconn.consume_input()
            while not pgconn.is_busy():
                result: pq.abc.PGresult | None = pgconn.get_result()
                if result is None:
                    if first is None:
                        break  # nothing more has come yet
                    results.append(first)
                    first = None
                elif result.status == pq.ExecStatus.PIPELINE_SYNC:
                    if len(results) == count:
                        return results
                elif first is None:
                    first = result
            await self._ready(writing=False)

    def _outcome(self, result: pq.abc.PGresult) -> Outcome:
        """A statement's rows, loaded by psycopg's loaders, or its error."""
        if result.status != pq.ExecStatus.TUPLES_OK:
            return _error(result)
        self._rows.set_pgresult(result)
        return self._rows.load_rows(0, result.ntuples, tuple)

    @staticmethod
    def _values(prepared: _Prepared, params: Params) -> list[bytes | None]:
        return [_text(params[name]) for name in prepared.params]

    async def _execute(self, prepared: _Prepared, params: Params) -> Rows:
        self.pgconn.send_query_prepared(prepared.name, self._values(prepared, params))
        outcome = self._outcome(await self._result())
        if isinstance(outcome, errors.Error):
            raise outcome
        return outcome

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
