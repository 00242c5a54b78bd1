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

    from client_registry.logs import configure, log_config
    from client_registry.metrics import shared_between
    from client_registry.migrate import upgrade_to_head
    from client_registry.settings import Settings
    from client_registry.tokens import bootstrap_token

    settings = Settings()
    configure(settings)  # the migration's lines are in the chosen format too
    engine = _engine()
    upgrade_to_head(engine)
    with engine.connect() as conn:
        token = bootstrap_token(conn)
    engine.dispose()
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="client-registry", description="The registry of OAuth2 clients."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate the database, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)

    commands.add_parser("migrate", help="upgrade the database to the newest revision").set_defaults(
        run=_migrate
    )
    commands.add_parser("openapi", help="print the OpenAPI document").set_defaults(run=_openapi)

    token = commands.add_parser("token", help="manage admin tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token and print it once")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", required=True, choices=SCOPES)
    create.set_defaults(run=_token_create)
    token_commands.add_parser("list", help="list tokens, one a line, id first").set_defaults(
        run=_token_list
    )
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
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
