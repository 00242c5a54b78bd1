"""The JSON Schema the document states for the client scheme's named types.

Patterns and lengths mirror the checks in `validation`; the fixed value sets
are named enums under components/schemas, so SDKs get one type for each."""

from typing import Any

from client_registry import validation as rules

Schema = dict[str, Any]
REF_PREFIX = "#/components/schemas/"

CLIENT_ID_SCHEMA: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 128,
    # ECMA 262 and Python regexes alike; '.' and '..' are refused.
    "pattern": r"^(?!\.\.?$)[A-Za-z0-9._~-]{1,128}$",
    "examples": ["billing-portal"],
}
NAME_SCHEMA: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "description": "1-200 characters after trimming, no control characters",
    "examples": ["Billing portal"],
}
REDIRECT_URI_SCHEMA: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": rules.MAX_REDIRECT_LENGTH,
    "format": "uri",
    "description": (
        "an absolute URI without fragment, wildcard or user-info: https, http on a "
        "loopback host, or a private-use scheme with a dot (com.example.app:/cb)"
    ),
    "examples": ["https://app.example.com/cb"],
}
SCOPE_TOKEN_SCHEMA: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 128,
    # RFC 6749 section 3.3: printable ASCII without space, '"' and '\'.
    "pattern": r"^[!#-\[\]-~]{1,128}$",
    "examples": ["openid"],
}
SECRET_SCHEMA: Schema = {
    "type": "string",
    "minLength": 32,
    "maxLength": 512,
    "pattern": r"^[ -~]{32,512}$",
    "description": "32-512 printable ASCII characters",
}

_RESPONSE_TYPES = [
    " ".join(part for part in rules.RESPONSE_TYPE_PARTS if part in parts)
    for parts in sorted(rules.RESPONSE_TYPE_SETS, key=lambda parts: (len(parts), sorted(parts)))
]
ENUMS: dict[str, Schema] = {
    "GrantType": {
        "title": "Grant type",
        "type": "string",
        "enum": sorted(rules.GRANT_TYPES),
    },
    "ResponseType": {
        "title": "Response type",
        "type": "string",
        "enum": [*_RESPONSE_TYPES, "none"],
        "description": "space-separated parts compare as sets: 'token code' is 'code token'",
    },
    "ResponseMode": {
        "title": "Response mode",
        "type": "string",
        "enum": sorted(rules.RESPONSE_MODES),
    },
    "AuthMethod": {
        "title": "Auth method",
        "type": "string",
        "enum": sorted(rules.AUTH_METHODS),
        "description": "'none' (a public client) cannot be combined with another method",
    },
}


def enum_schema(name: str) -> Schema:
    """The enum inline; the document names it (see `named_enums`)."""
    return {"type": "string", "enum": ENUMS[name]["enum"]}


def named_enums(node: Any) -> Any:
    """Every inline enum of a named set becomes a $ref to it, so a generated
    SDK has one GrantType rather than one copy per field."""
    if isinstance(node, list):
        return [named_enums(item) for item in node]
    if not isinstance(node, dict):
        return node
    for name, named in ENUMS.items():
        if node.get("enum") == named["enum"]:
            return {"$ref": REF_PREFIX + name}
    return {key: named_enums(value) for key, value in node.items()}


def field_title(name: str, _info: object) -> str:
    """grant_types -> 'Grant types', where pydantic would write 'Granttypes'."""
    return name.replace("_", " ").capitalize()
