"""One line of an import file: a client as create accepts it, its id
required, with either its secret or a hash of it, and the timestamps an
export wrote. The rules are the API's own: the line shape extends
ClientCreate, and its errors are named as a 422 names them."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

from pydantic import ValidationError

from client_registry.problems import Problem, pydantic_problem
from client_registry.schemas import ClientCreate, ClientId, Rfc3339Time
from client_registry.secrets import SecretHasher
from client_registry.service import check_redirect_required

FieldError = tuple[str, str]
_UNKNOWN_HASH = (
    "not a hash this registry verifies (its own format, a configured passlib scheme, "
    "or django-oauth-toolkit's pbkdf2_sha256$...)"
)


class ClientImport(ClientCreate):
    id: ClientId
    secret_hash: str | None = None
    previous_secret_hash: str | None = None
    created_at: Rfc3339Time | None = None
    updated_at: Rfc3339Time | None = None
    secret_created_at: Rfc3339Time | None = None
    previous_secret_expires_at: Rfc3339Time | None = None


class CheckedLine(NamedTuple):
    client: ClientImport
    # Whether each given hash is of a generated secret; None when not given.
    secret_generated: bool | None
    previous_generated: bool | None


def describe(errors: Iterable[FieldError]) -> str:
    """A bad line's errors as its stderr line shows them: `field: message; ...`."""
    return "; ".join(f"{name}: {text}" for name, text in errors)


def utc(value: datetime | None) -> datetime | None:
    """A given time in UTC, as every stored time is (and documents show it)."""
    return None if value is None else value.astimezone(UTC)


def check_line(raw: bytes, *, hasher: SecretHasher) -> CheckedLine | list[FieldError]:
    """The client of a line, or what is wrong with it as (field, message)."""
    try:
        client = ClientImport.model_validate_json(raw)
    except ValidationError as error:
        return _pairs(pydantic_problem(error.errors(), client_body=True))
    try:
        check_redirect_required(client)
    except Problem as problem:
        return _pairs(problem)
    return _secret_errors(client, hasher)


def _pairs(problem: Problem) -> list[FieldError]:
    return [(error["field"], error["message"]) for error in problem.errors or []]


def _secret_errors(client: ClientImport, hasher: SecretHasher) -> CheckedLine | list[FieldError]:
    errors: list[FieldError] = []
    if client.secret is not None and client.secret_hash is not None:
        errors.append(("secret", "give secret or secretHash, not both"))
    elif client.secret is None and client.secret_hash is None:
        errors.append(("secret", "required: give secret (plaintext) or secretHash"))
    current = previous = None
    if client.secret_hash is not None:
        current = hasher.hash_kind(client.secret_hash)
        if current is None:
            errors.append(("secretHash", _UNKNOWN_HASH))
    if client.previous_secret_hash is not None:
        previous = hasher.hash_kind(client.previous_secret_hash)
        if previous is None:
            errors.append(("previousSecretHash", _UNKNOWN_HASH))
        if client.previous_secret_expires_at is None:
            errors.append(("previousSecretExpiresAt", "required with previousSecretHash"))
    if errors:
        return errors
    return CheckedLine(
        client,
        secret_generated=None if current is None else current == "generated",
        previous_generated=None if previous is None else previous == "generated",
    )
