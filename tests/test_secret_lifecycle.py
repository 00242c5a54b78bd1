"""The secret lifecycle through HTTP (API.md sections 2 and 3): rotate-secret
and authenticate.

The database is only looked at to check what is stored, or to plant a hash in
a legacy scheme. Time moves with `service.clock.advance`, never by sleeping.
"""

import secrets
import string
import threading
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from passlib.hash import sha256_crypt, sha512_crypt
from sqlalchemy import select, text, update

from builders import new_client
from client_registry.tables import ClientRow
from conftest import Service

BASIC = "client_secret_basic"
POST = "client_secret_post"
SECRET_PREFIX = "crs_"
MAX_GRACE = 2_592_000
clients_table = ClientRow.__table__


@pytest.fixture(scope="module")
def issued(service: Service) -> list[str]:
    """Every plaintext secret the module saw, per engine: none may be stored."""
    return []


def given_secret(length: int = 48) -> str:
    """A caller-chosen secret of printable ASCII (RFC 6749 VSCHAR)."""
    alphabet = string.ascii_letters + string.digits + "-._~!#$%&*+=@"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def authenticate(
    http: httpx.Client, client_id: str, secret: Any, method: str = BASIC
) -> httpx.Response:
    body = {"secret": secret, "method": method}
    return http.post(f"/v1/clients/{client_id}/authenticate", json=body)


def works(http: httpx.Client, client_id: str, secret: str, method: str = BASIC) -> bool:
    """True on 200; False on the 401 invalid_client; anything else fails the test."""
    response = authenticate(http, client_id, secret, method)
    if response.status_code == 200:
        return True
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_client"
    return False


def rotate(http: httpx.Client, client_id: str, body: Any = None, **headers: str) -> httpx.Response:
    url = f"/v1/clients/{client_id}/rotate-secret"
    if body is None:
        return http.post(url, headers=headers)
    return http.post(url, json=body, headers=headers)


def rotated_secret(http: httpx.Client, client_id: str, issued: list[str], body: Any = None) -> str:
    response = rotate(http, client_id, body)
    assert response.status_code == 200, response.text
    secret: str = response.json()["secret"]
    issued.append(secret)
    return secret


def created(api: httpx.Client, issued: list[str], **fields: object) -> tuple[str, str]:
    """A new client's id and secret."""
    client = new_client(api, **fields)
    issued.append(str(client["secret"]))
    return str(client["id"]), str(client["secret"])


def read(api: httpx.Client, client_id: str) -> httpx.Response:
    response = api.get(f"/v1/clients/{client_id}")
    assert response.status_code == 200, response.text
    return response


def stored(service: Service, client_id: str) -> Any:
    with service.engine.connect() as conn:
        return conn.execute(select(clients_table).where(clients_table.c.id == client_id)).one()


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def error_fields(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {error["field"] for error in response.json().get("errors") or []}


def without_secret(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "secret"}


# --- authenticate ------------------------------------------------------------


@pytest.mark.parametrize("method", [BASIC, POST])
def test_authenticate_returns_the_client_and_no_secret(
    service: Service, api: httpx.Client, issued: list[str], method: str
) -> None:
    client_id, secret = created(api, issued)
    response = authenticate(api, client_id, secret, method)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == read(api, client_id).json()
    assert "secret" not in body
    assert not [key for key in body if "hash" in key.lower()]
    assert secret not in response.text
    assert stored(service, client_id).secret_hash not in response.text
    assert "$pbkdf2" not in response.text


def test_every_failure_is_the_same_invalid_client(
    service: Service, api: httpx.Client, issued: list[str]
) -> None:
    client_id, secret = created(api, issued)
    basic_id, basic_secret = created(api, issued, authMethods=[BASIC])
    public_id, public_secret = created(api, issued, authMethods=["none"])
    expiring_id, expiring_secret = created(api, issued)
    rotated_secret(api, expiring_id, issued, {"gracePeriodSeconds": 60})
    assert works(api, expiring_id, expiring_secret)
    service.clock.advance(61)

    failures = {
        "wrong secret": authenticate(api, client_id, secret + "x"),
        "unknown client": authenticate(api, "no-such-client-" + secrets.token_hex(4), secret),
        "method not allowed": authenticate(api, basic_id, basic_secret, POST),
        "none for a confidential client": authenticate(api, client_id, secret, "none"),
        "public client, none": authenticate(api, public_id, public_secret, "none"),
        "public client, basic": authenticate(api, public_id, public_secret, BASIC),
        "public client, post": authenticate(api, public_id, public_secret, POST),
        "expired previous secret": authenticate(api, expiring_id, expiring_secret),
    }
    bodies = {}
    for cause, response in failures.items():
        assert response.status_code == 401, (cause, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), cause
        assert response.json()["code"] == "invalid_client", cause
        bodies[cause] = response.json()
    first = bodies["wrong secret"]
    assert all(body == first for body in bodies.values()), bodies
    assert all(s not in str(bodies) for s in (secret, basic_secret, public_secret))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": BASIC}, "secret"),
        ({"secret": "<right>"}, "method"),
        ({"secret": "", "method": BASIC}, "secret"),
        ({"secret": "x" * 1025, "method": BASIC}, "secret"),
        ({"secret": 12345, "method": BASIC}, "secret"),
        ({"secret": "<right>", "method": "client_secret_jwt"}, "method"),
        ({"secret": "<right>", "method": "basic"}, "method"),
        ({"secret": "<right>", "method": BASIC, "clientId": "x"}, "clientId"),
    ],
    ids=["no-secret", "no-method", "empty", "1025-chars", "number", "jwt", "basic", "extra"],
)
def test_authenticate_body_rules(
    api: httpx.Client, issued: list[str], body: dict[str, Any], field: str
) -> None:
    client_id, secret = created(api, issued)
    sent = {key: secret if value == "<right>" else value for key, value in body.items()}
    response = api.post(f"/v1/clients/{client_id}/authenticate", json=sent)
    assert field in error_fields(response), response.text
    assert secret not in response.text


def test_a_well_formed_wrong_secret_of_1024_chars_is_401(
    api: httpx.Client, issued: list[str]
) -> None:
    client_id, secret = created(api, issued)
    longest = authenticate(api, client_id, "w" * 1024)
    assert longest.status_code == 401, longest.text
    assert longest.json() == authenticate(api, client_id, secret[:-1]).json()
    assert longest.json()["code"] == "invalid_client"


def test_the_stored_hash_is_not_a_secret(
    service: Service, api: httpx.Client, issued: list[str]
) -> None:
    client_id, first = created(api, issued)
    rotated_secret(api, client_id, issued, {"gracePeriodSeconds": 3600})
    row = stored(service, client_id)
    assert row.previous_secret_hash is not None
    for method in (BASIC, POST):
        assert not works(api, client_id, row.secret_hash, method)
        assert not works(api, client_id, row.previous_secret_hash, method)
    assert works(api, client_id, first)


def test_a_long_given_secret_counts_in_full(api: httpx.Client, issued: list[str]) -> None:
    secret = given_secret(120)
    client_id, returned = created(api, issued, secret=secret)
    assert returned == secret
    last_changed = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert works(api, client_id, secret)
    assert not works(api, client_id, secret[:72])
    assert not works(api, client_id, last_changed)
    assert not works(api, client_id, secret[:-1])
    assert not works(api, client_id, secret + "x")


def test_authenticate_needs_its_scope(
    service: Service, api: httpx.Client, issued: list[str]
) -> None:
    client_id, secret = created(api, issued)
    read_write = service.client(service.mint_token("clients:read", "clients:write"))
    refused = authenticate(read_write, client_id, secret)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "forbidden"

    authenticator = service.client(service.mint_token("clients:authenticate"))
    assert works(authenticator, client_id, secret)
    assert authenticator.get("/v1/clients").status_code == 403
    assert authenticator.get(f"/v1/clients/{client_id}").status_code == 403
    assert rotate(authenticator, client_id).status_code == 403
    assert works(api, client_id, secret)


# --- rotate-secret -----------------------------------------------------------


@pytest.mark.parametrize("body", [None, {}], ids=["no-body", "empty-object"])
def test_rotate_replaces_the_secret_at_once(
    api: httpx.Client, issued: list[str], body: dict[str, Any] | None
) -> None:
    client_id, old = created(api, issued)
    before = read(api, client_id)
    response = rotate(api, client_id, body)
    assert response.status_code == 200, response.text
    new = response.json()["secret"]
    issued.append(new)

    assert new.startswith(SECRET_PREFIX)
    assert new != old
    assert works(api, client_id, new, BASIC)
    assert works(api, client_id, new, POST)
    assert not works(api, client_id, old)

    after = read(api, client_id)
    assert response.json()["previousSecretExpiresAt"] is None
    assert after.json()["previousSecretExpiresAt"] is None
    assert instant(after.json()["secretCreatedAt"]) > instant(before.json()["secretCreatedAt"])
    assert response.headers["ETag"] != before.headers["ETag"]
    assert response.headers["ETag"] == after.headers["ETag"]
    assert without_secret(response.json()) == after.json()
    assert "secret" not in after.json()
    listed = api.get("/v1/clients", params={"name": after.json()["name"]})
    assert listed.status_code == 200
    for shown in (after.text, listed.text):
        assert new not in shown
        assert old not in shown


def test_a_secret_that_passed_gives_no_pass_to_a_near_miss_or_after_rotation(
    api: httpx.Client, issued: list[str]
) -> None:
    # A generated secret that matched is remembered; what is remembered must
    # match that secret alone, and only while its hash is the stored one.
    client_id, old = created(api, issued)
    near_miss = old[:-1] + ("A" if old[-1] != "A" else "B")
    for _ in range(3):
        assert works(api, client_id, old)
        assert not works(api, client_id, near_miss)
        assert not works(api, client_id, old + "x")
    new = rotated_secret(api, client_id, issued)
    assert not works(api, client_id, old)
    assert works(api, client_id, new)
    assert works(api, client_id, new)
    assert not works(api, client_id, old)


def test_rotate_with_a_grace_period_keeps_the_old_secret_for_it(
    service: Service, api: httpx.Client, issued: list[str]
) -> None:
    client_id, old = created(api, issued)
    response = rotate(api, client_id, {"gracePeriodSeconds": 3600})
    assert response.status_code == 200, response.text
    new = response.json()["secret"]
    issued.append(new)
    assert works(api, client_id, old)
    assert works(api, client_id, new)

    shown = read(api, client_id).json()
    assert shown["previousSecretExpiresAt"] == response.json()["previousSecretExpiresAt"]
    grace = instant(shown["previousSecretExpiresAt"]) - instant(shown["secretCreatedAt"])
    assert abs(grace - timedelta(hours=1)) < timedelta(seconds=1)

    service.clock.advance(3590)
    assert works(api, client_id, old)
    service.clock.advance(11)
    assert not works(api, client_id, old)
    assert works(api, client_id, new)
    assert not works(api, client_id, old)


def test_an_expired_previous_secret_is_forgotten_but_its_expiry_stays_on_show(
    service: Service, api: httpx.Client, issued: list[str]
) -> None:
    client_id, old = created(api, issued)
    new = rotated_secret(api, client_id, issued, {"gracePeriodSeconds": 60})
    before = read(api, client_id)
    assert stored(service, client_id).previous_secret_hash is not None

    service.clock.advance(61)
    assert works(api, client_id, new)
    row = stored(service, client_id)
    assert row.previous_secret_hash is None
    assert row.previous_secret_generated is None
    after = read(api, client_id)
    assert after.json() == before.json()
    assert after.headers["ETag"] == before.headers["ETag"]
    assert not works(api, client_id, old)


def test_rotations_keep_at_most_two_secrets(api: httpx.Client, issued: list[str]) -> None:
    client_id, first = created(api, issued)
    second = rotated_secret(api, client_id, issued, {"gracePeriodSeconds": 3600})
    third = rotated_secret(api, client_id, issued, {"gracePeriodSeconds": 3600})
    assert [works(api, client_id, s) for s in (first, second, third)] == [False, True, True]

    fourth = rotated_secret(api, client_id, issued, {"gracePeriodSeconds": 0})
    checks = [works(api, client_id, s) for s in (first, second, third, fourth)]
    assert checks == [False, False, False, True]
    assert read(api, client_id).json()["previousSecretExpiresAt"] is None


def test_rotate_to_a_given_secret(api: httpx.Client, issued: list[str]) -> None:
    client_id, old = created(api, issued)
    secret = given_secret(40)
    issued.append(secret)
    response = rotate(api, client_id, {"secret": secret})
    assert response.status_code == 200, response.text
    assert response.json()["secret"] == secret
    assert works(api, client_id, secret, BASIC)
    assert works(api, client_id, secret, POST)
    assert not works(api, client_id, old)


@pytest.mark.parametrize(
    "secret",
    ["s" * 31, "s" * 513, "é" * 40, "tab\tinside-an-otherwise-long-enough-secret", 12345678],
    ids=["31-chars", "513-chars", "non-ascii", "control-char", "number"],
)
def test_an_invalid_given_secret_changes_nothing(
    api: httpx.Client, issued: list[str], secret: Any
) -> None:
    client_id, old = created(api, issued)
    before = read(api, client_id)
    response = rotate(api, client_id, {"secret": secret, "gracePeriodSeconds": 60})
    assert "secret" in error_fields(response), response.text
    after = read(api, client_id)
    assert after.headers["ETag"] == before.headers["ETag"]
    assert after.json() == before.json()
    assert works(api, client_id, old)
    if isinstance(secret, str):
        assert not works(api, client_id, secret)


@pytest.mark.parametrize("seconds", [0, MAX_GRACE])
def test_grace_period_bounds_are_accepted(
    api: httpx.Client, issued: list[str], seconds: int
) -> None:
    client_id, old = created(api, issued)
    rotated = rotate(api, client_id, {"gracePeriodSeconds": seconds})
    assert rotated.status_code == 200, rotated.text
    issued.append(rotated.json()["secret"])
    body = rotated.json()
    assert works(api, client_id, body["secret"])
    assert works(api, client_id, old) is (seconds > 0)
    if seconds == 0:
        assert body["previousSecretExpiresAt"] is None
    else:
        grace = instant(body["previousSecretExpiresAt"]) - instant(body["secretCreatedAt"])
        assert abs(grace - timedelta(seconds=seconds)) < timedelta(seconds=1)


@pytest.mark.parametrize("value", [-1, MAX_GRACE + 1, 1.5, "60", True])
def test_grace_period_out_of_bounds_or_of_the_wrong_type_is_refused(
    api: httpx.Client, issued: list[str], value: Any
) -> None:
    client_id, old = created(api, issued)
    before = read(api, client_id)
    response = rotate(api, client_id, {"gracePeriodSeconds": value})
    assert "gracePeriodSeconds" in error_fields(response), response.text
    after = read(api, client_id)
    assert after.headers["ETag"] == before.headers["ETag"]
    assert works(api, client_id, old)


def test_rotate_honours_if_match(api: httpx.Client, issued: list[str]) -> None:
    client_id, old = created(api, issued)
    stale = read(api, client_id).headers["ETag"]
    patched = api.patch(f"/v1/clients/{client_id}", json={"name": "renamed"})
    assert patched.status_code == 200, patched.text

    refused = rotate(api, client_id, {}, **{"If-Match": stale})
    assert refused.status_code == 412, refused.text
    assert refused.json()["code"] == "precondition_failed"
    assert "secret" not in refused.json()
    assert works(api, client_id, old)
    assert read(api, client_id).headers["ETag"] == patched.headers["ETag"]

    accepted = rotate(api, client_id, {}, **{"If-Match": patched.headers["ETag"]})
    assert accepted.status_code == 200, accepted.text
    issued.append(accepted.json()["secret"])
    assert works(api, client_id, accepted.json()["secret"])
    assert not works(api, client_id, old)


def test_rotate_an_unknown_client_is_404(api: httpx.Client) -> None:
    response = rotate(api, "no-such-client-" + secrets.token_hex(4), {})
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"


# --- hashing -----------------------------------------------------------------


@pytest.mark.parametrize("scheme", [sha256_crypt, sha512_crypt], ids=lambda s: s.name)
@pytest.mark.parametrize("generated", [True, False], ids=["generated", "given"])
def test_a_legacy_hash_is_upgraded_on_authentication(
    service: Service, api: httpx.Client, issued: list[str], scheme: Any, generated: bool
) -> None:
    fields = {} if generated else {"secret": given_secret(40)}
    client_id, secret = created(api, issued, **fields)
    # Few rounds keep the test fast; the scheme alone makes the hash legacy.
    legacy = scheme.using(rounds=5_000).hash(secret)
    with service.engine.begin() as conn:
        conn.execute(
            update(clients_table)
            .where(clients_table.c.id == client_id)
            .values(secret_hash=legacy, secret_generated=generated)
        )
    before = read(api, client_id)

    assert not works(api, client_id, secret + "x")
    assert stored(service, client_id).secret_hash == legacy
    assert works(api, client_id, secret)
    upgraded = stored(service, client_id)
    assert upgraded.secret_hash.startswith("$pbkdf2-sha256$")
    assert upgraded.secret_generated is generated
    after = read(api, client_id)
    assert after.headers["ETag"] == before.headers["ETag"]
    assert after.json() == before.json()
    assert works(api, client_id, secret)
    assert not works(api, client_id, secret + "x")


# --- concurrency -------------------------------------------------------------


def rotate_together(service: Service, client_id: str, body: dict[str, Any]) -> list[Any]:
    """Two rotations from two threads, each with its own HTTP client, released
    at once by a barrier; returns both responses."""
    barrier = threading.Barrier(2)
    https = [service.client(), service.client()]
    results: list[Any] = [None, None]

    def rotate_in_thread(slot: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[slot] = rotate(https[slot], client_id, body)
        except BaseException as error:  # reported by the assertion below
            results[slot] = error

    threads = [threading.Thread(target=rotate_in_thread, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert all(isinstance(r, httpx.Response) for r in results), results
    return results


@pytest.mark.parametrize("grace", [0, 3600])
def test_concurrent_rotations_leave_one_current_secret(
    service: Service, api: httpx.Client, issued: list[str], grace: int
) -> None:
    client_id, original = created(api, issued)
    older = [original]  # every secret a later pair of rotations must have dropped
    for _ in range(4):
        results = rotate_together(service, client_id, {"gracePeriodSeconds": grace})
        assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
        returned = [r.json()["secret"] for r in results]
        issued.extend(returned)
        assert returned[0] != returned[1]

        working = [s for s in returned if works(api, client_id, s)]
        assert not [s for s in older if works(api, client_id, s)]
        current = read(api, client_id)
        if grace == 0:
            assert len(working) == 1, "exactly one of the two new secrets must be current"
            winner = results[returned.index(working[0])]
            assert winner.headers["ETag"] == current.headers["ETag"]
            assert current.json()["previousSecretExpiresAt"] is None
        else:
            # The later rotation kept the earlier one's secret as its previous,
            # and dropped the secret from before the pair.
            assert working == returned
            later = [r for r in results if r.headers["ETag"] == current.headers["ETag"]]
            assert len(later) == 1
        older.extend(returned)


# --- storage (last: it checks every secret the module issued) ----------------


def test_no_plaintext_secret_is_stored(
    service: Service, api: httpx.Client, issued: list[str]
) -> None:
    created(api, issued)
    given_id, _ = created(api, issued, secret=given_secret(64))
    rotated_secret(api, given_id, issued, {"secret": given_secret(100), "gracePeriodSeconds": 60})
    assert len(issued) >= 3

    with service.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM clients")).mappings().all()
    assert rows
    for row in rows:
        for column, value in row.items():
            found = [s for s in issued if value is not None and s in str(value)]
            assert not found, f"a plaintext secret is stored in clients.{column}"
        assert str(row["secret_hash"]).startswith("$")
