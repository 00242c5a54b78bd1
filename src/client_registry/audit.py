"""The audit trail: who changed what, as events written in the transaction
of the change. Field names are the API's; a secret is named, never shown."""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CLIENT_CREATED = "client.created"
CLIENT_REPLACED = "client.replaced"
CLIENT_UPDATED = "client.updated"
CLIENT_DELETED = "client.deleted"
CLIENT_SECRET_ROTATED = "client.secret_rotated"
CLIENT_IMPORTED = "client.imported"
TOKEN_CREATED = "token.created"
TOKEN_REVOKED = "token.revoked"
# The event's own time says when; a change of updatedAt says nothing more.
_UNLISTED = frozenset({"updatedAt"})
SECRET_FIELD = "secret"


@dataclass(frozen=True)
class Actor:
    """Who asked for a change, and in which request."""

    who: dict[str, str]
    request_id: str | None = None

    @classmethod
    def token(cls, token_id: str, token_name: str, request_id: str | None) -> "Actor":
        return cls({"type": "token", "tokenId": token_id, "tokenName": token_name}, request_id)


COMMAND_LINE = Actor({"type": "cli"})


def client_changes(
    before: str | None, after: str | None, *, secret_changed: bool = False
) -> list[dict[str, Any]]:
    """{field, before, after} for each field of the client's document that
    differs between two serialized documents (None: no client)."""
    old = json.loads(before) if before is not None else {}
    new = json.loads(after) if after is not None else {}
    changes = [
        {"field": field, "before": old.get(field), "after": new.get(field)}
        for field in dict.fromkeys([*old, *new])
        if field not in _UNLISTED and old.get(field) != new.get(field)
    ]
    if secret_changed:
        changes.append({"field": SECRET_FIELD, "before": None, "after": None})
    return changes


def event(
    action: str,
    actor: Actor,
    *,
    at: datetime,
    client_id: str | None,
    changes: list[dict[str, Any]],
) -> dict[str, Any]:
    """The columns of one audit event."""
    return {
        "id": "evt_" + secrets.token_hex(12),
        "at": at,
        "action": action,
        "client_id": client_id,
        "actor": actor.who,
        "request_id": actor.request_id,
        "changes": changes,
    }


def event_json(columns: Any) -> str:
    """An event as the API shows it (AuditEventRead), from its stored columns."""
    return json.dumps(
        {
            "id": columns.id,
            "at": columns.at.isoformat().replace("+00:00", "Z"),
            "action": columns.action,
            "clientId": columns.client_id,
            "actor": columns.actor,
            "requestId": columns.request_id,
            "changes": columns.changes,
        },
        separators=(",", ":"),
    )
