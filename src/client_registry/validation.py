"""The client scheme's rules as small named checks, used by the schemas."""

import re
import unicodedata
from collections.abc import Hashable, Iterable
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic_core import PydanticCustomError

T = TypeVar("T", bound=Hashable)

GRANT_TYPES = frozenset(
    {
        "authorization_code",
        "implicit",
        "refresh_token",
        "client_credentials",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    }
)
REDIRECT_GRANTS = frozenset({"authorization_code", "implicit"})
RESPONSE_TYPE_PARTS = ("code", "id_token", "token")  # canonical order
RESPONSE_TYPE_SETS = frozenset(
    frozenset(parts)
    for parts in (
        {"code"},
        {"token"},
        {"id_token"},
        {"code", "id_token"},
        {"code", "token"},
        {"id_token", "token"},
        {"code", "id_token", "token"},
    )
)
RESPONSE_MODES = frozenset(
    {"query", "fragment", "form_post", "query.jwt", "fragment.jwt", "form_post.jwt", "jwt"}
)
AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post", "none"})
UNSUPPORTED_AUTH_METHODS = frozenset(
    {"private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"}
)
DEFAULT_SCOPES = ("openid", "email", "profile", "offline_access")
DEFAULT_AUTH_METHODS = ("client_secret_post", "client_secret_basic")
DEFAULT_GRANT_TYPES = ("authorization_code",)

MAX_ITEMS = 100
MAX_REDIRECT_LENGTH = 2048
_CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,128}")
_SECRET = re.compile(r"[\x20-\x7e]{32,512}")
# RFC 3339's date-time, zone required: pydantic alone would also take a
# number of seconds since 1970 ("0.5") or a bare date.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
# RFC 3986 characters; anything else (spaces, quotes, non-ASCII) is not a URI.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_NEVER_SCHEMES = frozenset({"javascript", "data", "file", "vbscript"})
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid", message)


def unique(items: Iterable[T]) -> list[T]:
    """Drop repeated items, keeping the first occurrence and the order."""
    return list(dict.fromkeys(items))


def check_client_id(value: str) -> str:
    if _CLIENT_ID.fullmatch(value) is None:
        raise invalid("must be 1-128 characters of A-Z a-z 0-9 . _ ~ -")
    if value in (".", ".."):
        raise invalid("must not be '.' or '..'")
    return value


# Control characters, format and bidirectional controls (which let a name
# read differently than it is, in a console or on a consent screen), and
# lone surrogates, which no database text column holds.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs"})


def has_unprintable(value: str) -> bool:
    return any(unicodedata.category(char) in _UNPRINTABLE for char in value)


def check_name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 200:
        raise invalid("must be 1-200 characters after trimming")
    if has_unprintable(value):
        raise invalid(
            "must not contain control, format or bidirectional characters, or lone surrogates"
        )
    return value


def check_name_filter(value: str) -> str:
    if has_unprintable(value):
        raise invalid("must not contain control or format characters, or lone surrogates")
    return value


def is_possible_client_id(value: str) -> bool:
    """Whether any client can have this id: one that cannot is simply not
    found, without a query (a NUL, say, is not even text to PostgreSQL)."""
    return _CLIENT_ID.fullmatch(value) is not None and value not in (".", "..")


def check_rfc3339(value: object) -> object:
    """Text in RFC 3339 alone: a number is refused too, in a JSON body as in a query."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise invalid("must be an RFC 3339 date-time with a zone, such as 2026-01-31T12:00:00Z")
    return value


def in_utc(value: datetime) -> datetime:
    """The same instant in UTC: RFC 3339 allows offsets to 23:59, PostgreSQL
    only to 15:59. A time past the first or last day Python holds in UTC
    is past every stored time, so that day's end stands for it."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


def check_secret(value: str) -> str:
    if not _SECRET.fullmatch(value):
        raise invalid("must be 32-512 printable ASCII characters")
    return value


def check_scope(value: str) -> str:
    if not _SCOPE_TOKEN.fullmatch(value):
        raise invalid("must be 1-128 printable ASCII characters without space, '\"' or '\\'")
    return value


def check_grant_type(value: str) -> str:
    if value not in GRANT_TYPES:
        raise invalid(f"unknown grant type; allowed: {', '.join(sorted(GRANT_TYPES))}")
    return value


def check_response_mode(value: str) -> str:
    if value not in RESPONSE_MODES:
        raise invalid(f"unknown response mode; allowed: {', '.join(sorted(RESPONSE_MODES))}")
    return value


def normalize_response_type(value: str) -> str:
    """Space-separated parts compare as sets, so store them in one order."""
    if value == "none":
        return value
    parts = value.split(" ")
    if len(set(parts)) != len(parts) or frozenset(parts) not in RESPONSE_TYPE_SETS:
        raise invalid("must be 'none' or a space-separated set of 'code', 'id_token' and 'token'")
    return " ".join(part for part in RESPONSE_TYPE_PARTS if part in parts)


def check_auth_method(value: str) -> str:
    if value == "client_secret_jwt":
        raise invalid(
            "client_secret_jwt needs the plaintext secret, which this registry never keeps"
        )
    if value in UNSUPPORTED_AUTH_METHODS:
        raise invalid(f"{value} is not supported: the client scheme holds no key material")
    if value not in AUTH_METHODS:
        raise invalid(f"unknown method; allowed: {', '.join(sorted(AUTH_METHODS))}")
    return value


def check_redirect_uri(value: str) -> str:
    """An absolute redirect URI that is safe to send an authorization code to."""
    if len(value) > MAX_REDIRECT_LENGTH:
        raise invalid(f"must be at most {MAX_REDIRECT_LENGTH} characters")
    if not _URI_CHARS.fullmatch(value) or _BAD_PERCENT.search(value):
        raise invalid("must be a URI of RFC 3986 characters, with valid percent-encoding")
    if "#" in value:
        raise invalid("must not contain a fragment")
    if "*" in value:
        raise invalid("must not contain a wildcard")
    scheme, colon, rest = value.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme) or not rest:
        raise invalid("must be an absolute URI")
    scheme = scheme.lower()
    if scheme in _NEVER_SCHEMES:
        raise invalid(f"the {scheme}: scheme is never allowed")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as error:
        raise invalid("must be a well-formed URI") from error
    if "@" in parts.netloc:
        raise invalid("must not contain user information")
    if scheme in ("https", "http"):
        if not parts.hostname or not rest.startswith("//"):
            raise invalid("must name a host")
        if scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            raise invalid("http is only allowed for localhost, 127.0.0.1 or [::1]; use https")
        return value
    if "." not in scheme:
        raise invalid(
            "must use https, http on a loopback host, or a private-use scheme "
            "with a dot such as com.example.app"
        )
    return value


def default_response_types(grants: set[str]) -> list[str]:
    if "authorization_code" in grants:
        return ["code"]
    return ["token"] if "implicit" in grants else []


def default_response_modes(grants: set[str]) -> list[str]:
    if "authorization_code" in grants:
        return ["query"]
    return ["fragment"] if "implicit" in grants else []


def response_type_grant_error(response_type: str, grants: list[str]) -> str | None:
    """Why a response type cannot be used with these grants, if it cannot."""
    parts = set(response_type.split(" "))
    if "code" in parts and "authorization_code" not in grants:
        return f"'{response_type}' needs the authorization_code grant"
    if parts & {"token", "id_token"} and "implicit" not in grants:
        return f"'{response_type}' needs the implicit grant"
    return None


def missing_redirect(*, redirect: list[str], grant_types: list[str]) -> bool:
    return bool(REDIRECT_GRANTS.intersection(grant_types)) and not redirect
