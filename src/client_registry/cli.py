"""The `client-registry` command. Each sub-command imports only what it needs."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from client_registry.database import Database
    from client_registry.settings import Settings

T = TypeVar("T")
# The scopes of tokens.ALL_SCOPES, spelled here so argument parsing imports
# nothing heavy.
SCOPES = ("clients:read", "clients:write", "clients:authenticate", "audit:read")
EXIT_DATABASE = 1
EXIT_SETTING = 2
EXIT_BAD_INPUT = 1
EXIT_INTERRUPTED = 130  # the shell's status for a command ended by Ctrl-C
# An import is one transaction for the whole file: its bound on the database
# is this long rather than the few seconds of a request.
IMPORT_TIMEOUT_SECONDS = 600.0


class _Stop(Exception):
    """Ends the command with one line on standard error."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _settings() -> "Settings":
    from pydantic import ValidationError

    from client_registry.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        variable = (
            "CLIENT_REGISTRY_" + str(first["loc"][0]).upper() if first["loc"] else "a setting"
        )
        raise _Stop(f"{variable}: {first['msg']}", EXIT_SETTING) from None


def _database_failure(settings: "Settings", reason: str) -> _Stop:
    from client_registry.db import mask_password

    url = mask_password(settings.database_url)
    return _Stop(f"cannot use the database at {url}: {reason}", EXIT_DATABASE)


def _migrate_database(settings: "Settings") -> None:
    from sqlalchemy.exc import DBAPIError

    from client_registry.db import make_engine
    from client_registry.migrate import upgrade_to_head

    engine = make_engine(settings.database_url, connect_timeout=settings.connect_timeout)
    try:
        upgrade_to_head(engine)
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise _database_failure(settings, reason) from None
    finally:
        engine.dispose()


def _with_database(settings: "Settings", work: Callable[["Database"], Awaitable[T]]) -> T:
    """Run `work` on the service's own data path, in an event loop of its own."""
    from client_registry.database import open_database
    from client_registry.outages import DatabaseDown

    async def run() -> T:
        database = open_database(settings)
        try:
            return await work(database)
        finally:
            await database.close()

    try:
        return asyncio.run(run())
    except DatabaseDown as down:
        reason = down.reason
        if down.kind == "not_migrated":
            reason += " (run `client-registry migrate`)"
        raise _database_failure(settings, reason) from None


def _migrate(_args: argparse.Namespace) -> int:
    _migrate_database(_settings())
    print("database is at the newest revision", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from client_registry.logs import configure, log_config
    from client_registry.metrics import shared_between
    from client_registry.tokens import bootstrap_token

    settings = _settings()
    configure(settings)  # the migration's lines are in the chosen format too
    _migrate_database(settings)
    token = _with_database(settings, bootstrap_token)
    if token is not None:
        print(f"Admin token with every scope, shown only this once: {token}", flush=True)
    with shared_between(args.workers):
        uvicorn.run(
            "client_registry.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=log_config(settings),
            log_level=settings.log_level.lower(),
            # The service writes its own access line, with the request id.
            access_log=False,
        )
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from client_registry.tokens import create_token

    token = _with_database(
        _settings(), lambda db: create_token(db, name=args.name, scopes=args.scope)
    )
    print(token)
    return 0


def _token_list(_args: argparse.Namespace) -> int:
    from client_registry.tokens import list_tokens

    for row in _with_database(_settings(), list_tokens):
        state = f"revoked {row.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if row.revoked_at else "active"
        created = f"{row.created_at:%Y-%m-%dT%H:%M:%SZ}"
        print(f"{row.id}\t{row.name}\t{','.join(row.scopes)}\t{created}\t{state}")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from client_registry.tokens import revoke_token

    found = _with_database(_settings(), lambda db: revoke_token(db, token_id=args.id))
    if not found:
        print(f"client-registry: no token with id {args.id}", file=sys.stderr)
        return 1
    print(f"revoked {args.id}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from typing import TextIO

    from client_registry.exporting import export_clients, written_whole

    settings = _settings()

    def export(out: TextIO) -> int:
        return _with_database(
            settings, lambda db: export_clients(db, out=out, now=lambda: datetime.now(UTC))
        )

    if args.output is None:
        count = export(sys.stdout)
    else:
        try:
            with written_whole(args.output) as out:
                count = export(out)
        except OSError as error:
            raise _Stop(f"cannot write {args.output}: {error.strerror}", EXIT_BAD_INPUT) from None
    print(f"exported {count} clients", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from client_registry.importing import check_and_spool, private_spool, write_spooled

    settings = _settings()
    at = datetime.now(UTC)
    try:
        source = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    except OSError as error:
        raise _Stop(f"cannot read {args.file}: {error.strerror}", EXIT_BAD_INPUT) from None
    try:
        with private_spool() as spool:
            outcome = check_and_spool(
                source, settings=settings, at=at, spool=spool, hash_secrets=not args.dry_run
            )
            long_settings = settings.model_copy(
                update={
                    "statement_timeout": max(settings.statement_timeout, IMPORT_TIMEOUT_SECONDS)
                }
            )
            _with_database(
                long_settings,
                lambda db: write_spooled(
                    db,
                    spool=spool,
                    outcome=outcome,
                    on_conflict=args.on_conflict,
                    at=at,
                    dry_run=args.dry_run,
                ),
            )
    except KeyboardInterrupt:
        raise _Stop("interrupted; nothing was imported", EXIT_INTERRUPTED) from None
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    for number, message in sorted(outcome.errors):
        print(f"line {number}: {message}", file=sys.stderr)
    if outcome.errors:
        return EXIT_BAD_INPUT
    done = f"{outcome.created} new, {outcome.replaced} replaced, {outcome.skipped} skipped"
    if args.dry_run:
        print(f"dry run: {outcome.lines} lines are good ({done}); nothing written", file=sys.stderr)
    else:
        print(f"imported {outcome.lines} lines: {done}", file=sys.stderr)
    return 0


def _openapi(_args: argparse.Namespace) -> int:
    import json

    from client_registry.app import create_app

    print(json.dumps(create_app(_settings()).openapi(), indent=2))
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("client-registry")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default; a required option has none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.required or action.default is None:
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="client-registry", description="The registry of OAuth2 clients.", formatter_class=_Help
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        group: "argparse._SubParsersAction[argparse.ArgumentParser]", name: str, text: str
    ) -> argparse.ArgumentParser:
        return group.add_parser(name, help=text, description=text, formatter_class=_Help)

    serve = command(commands, "serve", "migrate the database, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="the TCP port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.set_defaults(run=_serve)

    command(commands, "migrate", "upgrade the database to the newest revision").set_defaults(
        run=_migrate
    )
    command(commands, "openapi", "print the OpenAPI document").set_defaults(run=_openapi)

    export = command(commands, "export", "write every client as JSON Lines, with secret hashes")
    export.add_argument(
        "--output",
        metavar="FILE",
        help="the file to write, readable by its owner only and put in place once whole;"
        " standard output when omitted",
    )
    export.set_defaults(run=_export)
    import_ = command(
        commands, "import", "import clients from JSON Lines, all or nothing, in one transaction"
    )
    import_.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE",
        help="the lines to read; - is standard input",
    )
    import_.add_argument(
        "--on-conflict",
        choices=("fail", "skip", "replace"),
        default="fail",
        help="for an id that exists: a bad line, leave the client as it is, or replace it whole",
    )
    import_.add_argument(
        "--dry-run", action="store_true", help="check every line and the ids, write nothing"
    )
    import_.set_defaults(run=_import)

    token = command(commands, "token", "manage admin tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="COMMAND")
    create = command(token_commands, "create", "create a token and print it once, alone")
    create.add_argument("--name", required=True, help="what the token is for")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=SCOPES,
        metavar="SCOPE",
        help=f"a scope the token holds, one of {', '.join(SCOPES)}; repeat it for several",
    )
    create.set_defaults(run=_token_create)
    command(token_commands, "list", "list tokens, one a line, id first").set_defaults(
        run=_token_list
    )
    revoke = command(token_commands, "revoke", "revoke a token by its id")
    revoke.add_argument("id", help="the token's id, as `token list` prints it")
    revoke.set_defaults(run=_token_revoke)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.run is not _serve:
        # The command's one line says what failed; the data layer's own
        # failure log is for a running service.
        logging.getLogger("client_registry").addHandler(logging.NullHandler())
    try:
        return int(args.run(args))
    except _Stop as stop:
        print(f"client-registry: {stop}", file=sys.stderr)
        return stop.status


if __name__ == "__main__":
    sys.exit(main())
