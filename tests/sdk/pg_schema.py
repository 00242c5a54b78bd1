"""Creates or drops a throwaway PostgreSQL schema for tests/sdk/run.sh.

pg_schema.py create URL NAME prints the URL that puts NAME first on the
search path; pg_schema.py drop URL NAME drops it with everything in it."""

import sys

from sqlalchemy import create_engine, make_url, text

from client_registry.db import database_url


def main(action: str, url: str, schema: str) -> None:
    admin = create_engine(database_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if action == "create":
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        else:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()
    if action == "create":
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        print(scoped.render_as_string(hide_password=False))


if __name__ == "__main__":
    main(*sys.argv[1:4])
