"""The audit trail (API.md 7): an event per change, in the change's own
transaction, with who, which request and what changed; never a secret."""

from datetime import datetime, timedelta

import pytest

from builders import new_client

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def _events(api, **params):
    response = api.get("/v1/audit-events", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_change_of_a_client_is_an_event_newest_first(service, api):
    client = new_client(api)
    path = f"/v1/clients/{client['id']}"
    patched = api.patch(
        path, json={"firstParty": True}, headers={**MERGE_PATCH, "X-Request-ID": "req-patch-1"}
    )
    assert patched.status_code == 200
    assert (
        api.put(
            path, json={"name": "renamed", "redirect": ["https://app.example.com/cb"]}
        ).status_code
        == 200
    )
    rotated = api.post(f"{path}/rotate-secret", json={"gracePeriodSeconds": 60})
    assert rotated.status_code == 200
    assert api.delete(path).status_code == 204

    page = _events(api, clientId=client["id"])
    actions = [event["action"] for event in page["items"]]
    assert actions == [
        "client.deleted",
        "client.secret_rotated",
        "client.replaced",
        "client.updated",
        "client.created",
    ]
    by_action = {event["action"]: event for event in page["items"]}
    updated = by_action["client.updated"]
    assert updated["changes"] == [{"field": "firstParty", "before": False, "after": True}]
    assert updated["requestId"] == "req-patch-1"
    assert updated["actor"]["type"] == "token"
    assert updated["actor"]["tokenName"] == "tests"
    assert updated["actor"]["tokenId"].startswith("tok_")
    fields = {change["field"] for change in by_action["client.secret_rotated"]["changes"]}
    assert {"secret", "secretCreatedAt", "previousSecretExpiresAt"} <= fields
    created_fields = {c["field"] for c in by_action["client.created"]["changes"]}
    assert {"id", "name", "redirect", "secret"} <= created_fields
    deleted = by_action["client.deleted"]["changes"]
    assert {"field": "name", "before": "renamed", "after": None} in deleted
    # Never a secret or a hash, in any event.
    text = str(page)
    for secret in (client["secret"], rotated.json()["secret"]):
        assert secret not in text
    assert "$pbkdf2" not in text


def test_a_refused_request_records_nothing(api):
    client = new_client(api)
    path = f"/v1/clients/{client['id']}"
    before = _events(api, clientId=client["id"])["items"]
    assert api.patch(path, json={"grantTypes": ["nope"]}, headers=MERGE_PATCH).status_code == 422
    stale = api.patch(path, json={"firstParty": True}, headers={**MERGE_PATCH, "If-Match": '"x"'})
    assert stale.status_code == 412
    assert _events(api, clientId=client["id"])["items"] == before


def test_filters_and_paging(api):
    client = new_client(api)
    path = f"/v1/clients/{client['id']}"
    for n in range(3):
        assert api.patch(path, json={"scopes": [f"s{n}"]}, headers=MERGE_PATCH).status_code == 200
    first = _events(api, clientId=client["id"], action="client.updated", limit=2)
    assert len(first["items"]) == 2
    assert first["nextCursor"]
    assert (
        'rel="next"'
        in api.get("/v1/audit-events", params={"clientId": client["id"], "limit": 2}).headers[
            "Link"
        ]
    )
    rest = _events(api, clientId=client["id"], action="client.updated", cursor=first["nextCursor"])
    assert len(rest["items"]) == 1
    at = datetime.fromisoformat(first["items"][0]["at"].replace("Z", "+00:00"))
    since = _events(api, clientId=client["id"], since=at.isoformat())
    assert [e["at"] for e in since["items"]] == [first["items"][0]["at"]]
    until = _events(api, clientId=client["id"], until=(at - timedelta(microseconds=0)).isoformat())
    assert first["items"][0]["id"] not in {e["id"] for e in until["items"]}
    assert api.get("/v1/audit-events", params={"action": "nope"}).status_code == 422
    assert api.get("/v1/audit-events", params={"since": "yesterday"}).status_code == 422


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("until", "0.5"),
        ("since", "1700000000"),
        ("since", "2026-01-31"),
        ("until", "2026-01-31T12:00:00"),
    ],
)
def test_audit_times_are_rfc_3339_with_a_zone(service, field, value):
    api = service.client(service.mint_token("audit:read"))
    answer = api.get("/v1/audit-events", params={field: value})
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == [field]
    assert (
        api.get("/v1/audit-events", params={field: "2026-01-31t12:00:00.5+02:00"}).status_code
        == 200
    )


def test_the_audit_trail_needs_its_scope(service):
    reader = service.client(service.mint_token("clients:read"))
    assert reader.get("/v1/audit-events").status_code == 403
    auditor = service.client(service.mint_token("audit:read"))
    assert auditor.get("/v1/audit-events").status_code == 200


def test_token_changes_are_events_without_the_token(service, api):
    token = service.mint_token("clients:read")
    events = _events(api, action="token.created", limit=1)["items"]
    assert events[0]["actor"] == {"type": "cli"}
    fields = {c["field"]: c["after"] for c in events[0]["changes"]}
    assert fields["tokenName"] == "test"
    assert token not in str(events)


def test_times_at_any_rfc_3339_offset_filter_as_the_same_instant(api):
    # RFC 3339 allows offsets to 23:59, PostgreSQL takes them to 15:59; and
    # the first and last days shifted by an offset lie past what Python holds.
    client = new_client(api)
    mine = {"clientId": client["id"]}
    assert len(_events(api, **mine, since="0178-07-09T15:22:50+16:11")["items"]) == 1
    assert _events(api, **mine, until="0178-07-09T15:22:50-23:59")["items"] == []
    assert len(_events(api, **mine, since="0001-01-01T00:00:00+23:00")["items"]) == 1
    assert len(_events(api, **mine, until="9999-12-31T23:59:59-23:00")["items"]) == 1
    assert _events(api, **mine, since="9999-12-31T23:59:59-23:00")["items"] == []
