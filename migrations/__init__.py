"""Alembic migrations of the client registry schema."""
