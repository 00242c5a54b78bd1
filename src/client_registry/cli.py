"""The `client-registry` command. Each sub-command imports only what it needs."""

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

# The scopes of tokens.ALL_SCOPES, spelled here so argument parsing imports
# nothing heavy.
SCOPES = ("clients:read", "clients:write", "clients:authenticate")


def _engine() -> "Engine":
    from client_registry.db import make_engine
    from client_registry.settings import Settings

    return make_engine(Settings().database_url)


def _migrate(_args: argparse.Namespace) -> int:
    from client_registry.migrate import upgrade_to_head

    engine = _engine()
    upgrade_to_head(engine)
    engine.dispose()
    print("database is at the newest revision", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from client_registry.migrate import upgrade_to_head
    from client_registry.settings import Settings
    from client_registry.tokens import bootstrap_token

    settings = Settings()
    engine = _engine()
    upgrade_to_head(engine)
    with engine.connect() as conn:
        token = bootstrap_token(conn)
    engine.dispose()
    if token is not None:
        print(f"Admin token with every scope, shown only this once: {token}", flush=True)
    uvicorn.run(
        "client_registry.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
    )
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from client_registry.tokens import create_token

    engine = _engine()
    with engine.connect() as conn:
        token = create_token(conn, name=args.name, scopes=args.scope)
    engine.dispose()
    print(token)
    return 0


def _token_list(_args: argparse.Namespace) -> int:
    from client_registry import repository

    engine = _engine()
    with engine.connect() as conn:
        rows = repository.list_tokens(conn)
    engine.dispose()
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if row.revoked_at else "active"
        created = f"{row.created_at:%Y-%m-%dT%H:%M:%SZ}"
        print(f"{row.id}\t{row.name}\t{','.join(row.scopes)}\t{created}\t{state}")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from client_registry.tokens import revoke_token

    engine = _engine()
    with engine.connect() as conn:
        found = revoke_token(conn, token_id=args.id)
    engine.dispose()
    if not found:
        print(f"client-registry: no token with id {args.id}", file=sys.stderr)
        return 1
    print(f"revoked {args.id}", file=sys.stderr)
    return 0


def _openapi(_args: argparse.Namespace) -> int:
    import json

    from client_registry.app import create_app

    print(json.dumps(create_app().openapi(), indent=2))
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
    try:
        return int(args.run(args))
    except Exception as error:
        from sqlalchemy.exc import OperationalError, ProgrammingError

        if isinstance(error, OperationalError | ProgrammingError):
            print(
                "client-registry: the database is unreachable or not migrated "
                f"(run `client-registry migrate`): {type(error).__name__}",
                file=sys.stderr,
            )
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
