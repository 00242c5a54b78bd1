"""Declarative base, the URL rules, and the SQLAlchemy engine of migrations."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# SQLAlchemy drivers that run synchronously, as migrations do; any other
# PostgreSQL driver named in a URL (asyncpg, say) migrates with psycopg.
_SYNC_POSTGRES_DRIVERS = frozenset({"psycopg", "psycopg2", "pg8000"})


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every engine (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def database_url(raw: str) -> URL:
    """Parse a database URL, picking psycopg 3 for a plain PostgreSQL URL."""
    url = make_url(raw)
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres") and driver not in _SYNC_POSTGRES_DRIVERS:
        url = url.set(drivername="postgresql+psycopg")
    return url


def mask_password(raw: str) -> str:
    """The URL as it may be shown: its password as ***."""
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL holds no password we can find
        return raw


def make_engine(raw_url: str, *, connect_timeout: float = 10.0) -> Engine:
    """An engine for migrations and for tests that look at what is stored.
    On SQLite its transactions begin IMMEDIATE, so two migrations at once
    take turns instead of both reading an empty schema."""
    url = database_url(raw_url)
    # hide_parameters keeps secret hashes out of error messages and logs.
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 15}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_connected)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": connect_timeout}
    return create_engine(url, connect_args=connect_args, hide_parameters=True)


def _sqlite_connected(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event begins
    configure_sqlite(dbapi_connection)


def configure_sqlite(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
