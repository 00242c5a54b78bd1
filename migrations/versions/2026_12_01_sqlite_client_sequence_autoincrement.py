"""SQLite: client sequence numbers are never reused

A keyset cursor names the last client's sequence number; without
AUTOINCREMENT SQLite hands the number of a deleted last client to the next
one, and a walk could skip it. PostgreSQL sequences never reuse numbers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild_clients(*, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    table_kwargs = {"sqlite_autoincrement": autoincrement}
    with op.batch_alter_table("clients", recreate="always", table_kwargs=table_kwargs):
        pass


def upgrade() -> None:
    _rebuild_clients(autoincrement=True)


def downgrade() -> None:
    _rebuild_clients(autoincrement=False)
