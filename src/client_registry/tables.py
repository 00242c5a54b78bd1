"""ORM tables. Only hashes and digests of secrets and tokens are ever stored."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from client_registry.db import Base, UtcDateTime


class ClientRow(Base):
    __tablename__ = "clients"
    # SQLite: never reuse a deleted client's sequence number (the keyset).
    __table_args__ = ({"sqlite_autoincrement": True},)

    # The surrogate key orders clients by creation and is the pagination keyset.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Case-folded in Python so the name filter behaves the same on every engine.
    name_folded: Mapped[str] = mapped_column(Text)
    redirect: Mapped[list[str]] = mapped_column(JSON)
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    response_types: Mapped[list[str]] = mapped_column(JSON)
    response_modes: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    first_party: Mapped[bool] = mapped_column(Boolean)
    auth_methods: Mapped[list[str]] = mapped_column(JSON)
    secret_hash: Mapped[str] = mapped_column(Text)
    # Generated secrets are hashed at a low cost, given ones at a password-grade
    # cost; the kind says which policy a hash is upgraded to.
    secret_generated: Mapped[bool] = mapped_column(Boolean)
    secret_created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The secret before the last rotation, valid until its expiry (grace period).
    # The hash is dropped once expired; the time stays as the client shows it.
    previous_secret_hash: Mapped[str | None] = mapped_column(Text)
    previous_secret_generated: Mapped[bool | None] = mapped_column(Boolean)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The client as the API shows it, serialized once per change so reads
    # send it as it is.
    document: Mapped[str] = mapped_column(Text)
    # A fresh random value on every change: the ETag, and the compare-and-set
    # guard that keeps concurrent writers from losing each other's updates.
    revision: Mapped[str] = mapped_column(String(32))


class AdminTokenRow(Base):
    __tablename__ = "admin_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # SHA-256 of the token: high-entropy tokens need no slow hash, and an
    # indexed digest keeps the per-request check a single lookup.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditEventRow(Base):
    """One change, written in the transaction that made it; it outlives its
    client. Never holds a secret, a token or a hash."""

    __tablename__ = "audit_events"

    # Orders events and is the keyset of their listing (newest first).
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(32), unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    action: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[str | None] = mapped_column(String(128), index=True)
    # {"type": "token", "tokenId", "tokenName"} or {"type": "cli"}
    actor: Mapped[dict[str, str]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(128))
    # [{"field", "before", "after"}] with the API's field names
    changes: Mapped[list[dict[str, object]]] = mapped_column(JSON)

    __table_args__ = ({"sqlite_autoincrement": True},)
