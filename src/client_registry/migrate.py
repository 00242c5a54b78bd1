"""Upgrading the database to the newest Alembic revision, once, however
many processes start at the same time."""

from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

# Held while one process migrates; the others wait, then find nothing to do.
MIGRATION_LOCK = 0x636C_7265_6700_0001


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("client_registry.migrations")))
    return config


def upgrade_to_head(engine: Engine) -> None:
    config = alembic_config()
    # SQLite: the engine's transactions begin IMMEDIATE, which takes the lock.
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
