"""Pydantic shapes of the HTTP API: one per operation, strict, camelCase."""

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

from client_registry import validation as rules
from client_registry.openapi_types import (
    CLIENT_ID_SCHEMA,
    NAME_SCHEMA,
    REDIRECT_URI_SCHEMA,
    SCOPE_TOKEN_SCHEMA,
    SECRET_SCHEMA,
    enum_schema,
    field_title,
)

# The document states each rule as a pattern, a length or an enum, while the
# checks in `validation` stay the ones that run: their messages say more than
# a bare "not one of" would (client_secret_jwt's explains why it is refused).
ClientId = Annotated[str, AfterValidator(rules.check_client_id), WithJsonSchema(CLIENT_ID_SCHEMA)]
Name = Annotated[str, AfterValidator(rules.check_name), WithJsonSchema(NAME_SCHEMA)]
RedirectUri = Annotated[
    str, AfterValidator(rules.check_redirect_uri), WithJsonSchema(REDIRECT_URI_SCHEMA)
]
GrantType = Annotated[
    str, AfterValidator(rules.check_grant_type), WithJsonSchema(enum_schema("GrantType"))
]


def _grant_for_response_type(value: str, info: ValidationInfo) -> str:
    # grantTypes is declared before responseTypes, so it is validated first;
    # it is absent when invalid and None in a patch that leaves it alone.
    grants = info.data.get("grant_types")
    if isinstance(grants, list):
        error = rules.response_type_grant_error(value, grants)
        if error:
            raise rules.invalid(error)
    return value


ResponseType = Annotated[
    str,
    AfterValidator(rules.normalize_response_type),
    AfterValidator(_grant_for_response_type),
    WithJsonSchema(enum_schema("ResponseType")),
]
ResponseMode = Annotated[
    str, AfterValidator(rules.check_response_mode), WithJsonSchema(enum_schema("ResponseMode"))
]
ScopeToken = Annotated[str, AfterValidator(rules.check_scope), WithJsonSchema(SCOPE_TOKEN_SCHEMA)]
AuthMethod = Annotated[
    str, AfterValidator(rules.check_auth_method), WithJsonSchema(enum_schema("AuthMethod"))
]
Secret = Annotated[str, AfterValidator(rules.check_secret), WithJsonSchema(SECRET_SCHEMA)]

# May be omitted, never null (`_refuse_null`), so the document states the
# string alone: a generated SDK then types it `str`, not `str | None`.
OptionalId = Annotated[ClientId | None, WithJsonSchema(CLIENT_ID_SCHEMA)]
OptionalSecret = Annotated[Secret | None, WithJsonSchema(SECRET_SCHEMA)]

# Arrays: at most 100 items as sent, repeats dropped with the first kept.
_MaxItems = Field(max_length=rules.MAX_ITEMS)
_Unique = AfterValidator(rules.unique)
RedirectList = Annotated[list[RedirectUri], _MaxItems, _Unique]
GrantTypeList = Annotated[list[GrantType], Field(min_length=1, max_length=rules.MAX_ITEMS), _Unique]
ResponseTypeList = Annotated[list[ResponseType], _MaxItems, _Unique]
ResponseModeList = Annotated[list[ResponseMode], _MaxItems, _Unique]
ScopeList = Annotated[list[ScopeToken], _MaxItems, _Unique]
AuthMethodList = Annotated[
    list[AuthMethod], Field(min_length=1, max_length=rules.MAX_ITEMS), _Unique
]


def _grant_type_filter(value: str | None) -> str | None:
    return None if value is None else rules.check_grant_type(value)


def _scope_filter(value: str | None) -> str | None:
    return None if value is None else rules.check_scope(value)


def _name_filter(value: str | None) -> str | None:
    # No stored name holds such a character, and PostgreSQL refuses a NUL.
    return None if value is None else rules.check_name_filter(value)


# Query filters: absent or a value (a query string cannot carry null).
NameFilter = Annotated[
    str | None,
    AfterValidator(_name_filter),
    WithJsonSchema({"type": "string", "maxLength": 200}),
]
GrantTypeFilter = Annotated[
    str | None, AfterValidator(_grant_type_filter), WithJsonSchema(enum_schema("GrantType"))
]
ScopeFilter = Annotated[
    str | None, AfterValidator(_scope_filter), WithJsonSchema(SCOPE_TOKEN_SCHEMA)
]


class ApiModel(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=False,
        field_title_generator=field_title,
    )


def _check_public_client(methods: list[str] | None) -> list[str] | None:
    if methods and "none" in methods and len(methods) > 1:
        raise rules.invalid("'none' (a public client) cannot be combined with another method")
    return methods


class ClientMetadata(ApiModel):
    """The writable fields with their defaults; responseTypes, responseModes
    and redirect default by the grants when omitted."""

    name: Name
    redirect: RedirectList = Field(default_factory=list)
    grant_types: GrantTypeList = Field(default_factory=lambda: list(rules.DEFAULT_GRANT_TYPES))
    response_types: ResponseTypeList = Field(
        default_factory=list,
        description='["code"] with authorization_code, else ["token"] with implicit, else []',
    )
    response_modes: ResponseModeList = Field(
        default_factory=list,
        description='["query"] with authorization_code, else ["fragment"] with implicit, else []',
    )
    scopes: ScopeList = Field(default_factory=lambda: list(rules.DEFAULT_SCOPES))
    first_party: bool = False
    auth_methods: AuthMethodList = Field(default_factory=lambda: list(rules.DEFAULT_AUTH_METHODS))

    _public_client = field_validator("auth_methods")(_check_public_client)

    @model_validator(mode="after")
    def default_by_grants(self) -> Self:
        grants = set(self.grant_types)
        if "response_types" not in self.model_fields_set:
            self.response_types = rules.default_response_types(grants)
        if "response_modes" not in self.model_fields_set:
            self.response_modes = rules.default_response_modes(grants)
        return self


def _refuse_null(value: Any) -> Any:
    # Optional fields may be omitted but are never null: types are strict.
    if value is None:
        raise rules.invalid("must not be null; omit the field instead")
    return value


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class ClientCreate(ClientMetadata):
    model_config = _examples(
        {
            "id": "billing-portal",
            "name": "Billing portal",
            "redirect": ["https://billing.example.com/cb"],
            "scopes": ["openid", "email"],
        }
    )

    id: OptionalId = None
    secret: OptionalSecret = Field(
        default=None, description="generated when omitted; returned once, stored hashed"
    )

    _not_null = field_validator("id", "secret", mode="before")(_refuse_null)


def _refuse_secret(value: Any) -> Any:
    raise rules.invalid("cannot be set here; use POST /v1/clients/{id}/rotate-secret to change it")


class ReadBack(ApiModel):
    """What a GET returned may be sent back: read-only fields are ignored,
    `id` must match the path, and the secret is refused."""

    id: OptionalId = None
    secret: SkipJsonSchema[Any] = None
    created_at: SkipJsonSchema[Any] = None
    updated_at: SkipJsonSchema[Any] = None
    secret_created_at: SkipJsonSchema[Any] = None
    previous_secret_expires_at: SkipJsonSchema[Any] = None

    _no_secret = field_validator("secret")(_refuse_secret)
    _not_null = field_validator("id", mode="before")(_refuse_null)


class ClientReplace(ClientMetadata, ReadBack):
    model_config = _examples(
        {
            "name": "Billing portal",
            "redirect": ["https://billing.example.com/cb"],
            "grantTypes": ["authorization_code", "refresh_token"],
            "firstParty": True,
        }
    )


class ClientPatch(ReadBack):
    """JSON Merge Patch: a field set to null returns to its default."""

    model_config = _examples({"firstParty": True, "scopes": ["openid", "email"]})

    name: Name | None = None
    redirect: RedirectList | None = None
    grant_types: GrantTypeList | None = None
    response_types: ResponseTypeList | None = None
    response_modes: ResponseModeList | None = None
    scopes: ScopeList | None = None
    first_party: bool | None = None
    auth_methods: AuthMethodList | None = None

    _public_client = field_validator("auth_methods")(_check_public_client)


# Stored values, described by the schemas their checks enforced on the way in.
StoredId = Annotated[str, WithJsonSchema(CLIENT_ID_SCHEMA)]
StoredRedirect = Annotated[str, WithJsonSchema(REDIRECT_URI_SCHEMA)]
StoredGrantType = Annotated[str, WithJsonSchema(enum_schema("GrantType"))]
StoredResponseType = Annotated[str, WithJsonSchema(enum_schema("ResponseType"))]
StoredResponseMode = Annotated[str, WithJsonSchema(enum_schema("ResponseMode"))]
StoredScope = Annotated[str, WithJsonSchema(SCOPE_TOKEN_SCHEMA)]
StoredAuthMethod = Annotated[str, WithJsonSchema(enum_schema("AuthMethod"))]


class ClientRead(ApiModel):
    id: StoredId
    name: str
    redirect: list[StoredRedirect]
    grant_types: list[StoredGrantType]
    response_types: list[StoredResponseType]
    response_modes: list[StoredResponseMode]
    scopes: list[StoredScope]
    first_party: bool
    auth_methods: list[StoredAuthMethod]
    created_at: datetime
    updated_at: datetime
    secret_created_at: datetime
    previous_secret_expires_at: datetime | None


def client_document(columns: Mapping[str, Any]) -> str:
    """The JSON of ClientRead for a client's stored columns."""
    fields: dict[str, Any] = {name: columns.get(name) for name in ClientRead.model_fields}
    return ClientRead.model_construct(**fields).model_dump_json(by_alias=True)


class ClientWithSecret(ClientRead):
    secret: str = Field(description="the plaintext secret, shown this once")


class ClientPage(ApiModel):
    items: list[ClientRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class FieldError(ApiModel):
    field: str = Field(examples=["redirect[2]"])
    message: str
    code: str = Field(examples=["invalid_redirect_uri"])


class ProblemDetails(ApiModel):
    """An RFC 9457 problem."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str = Field(examples=["not_found"])
    errors: list[FieldError] | None = None


def _whole_number(value: Any) -> Any:
    # JSON has one number type: 3600.0 is the integer 3600 to JSON Schema, and
    # to an SDK that sends every number as a float. 3600.5 stays refused.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class RotateSecret(ApiModel):
    model_config = _examples({"gracePeriodSeconds": 3600})

    grace_period_seconds: Annotated[int, BeforeValidator(_whole_number)] = Field(
        default=0,
        ge=0,
        le=2_592_000,
        description="how long the previous secret keeps working; 0 drops it at once",
    )
    secret: OptionalSecret = Field(default=None, description="generated when omitted")

    _not_null = field_validator("secret", mode="before")(_refuse_null)


class AuthenticateClient(ApiModel):
    model_config = _examples(
        {
            "secret": "crs_6Jm2yQ1pKXo8WvB3tZr0dLsNf4hCaEiU7gTqY5oR9eM",
            "method": "client_secret_basic",
        }
    )

    secret: str = Field(min_length=1, max_length=1024)
    method: Annotated[
        Literal["client_secret_basic", "client_secret_post", "none"],
        WithJsonSchema(enum_schema("AuthMethod")),
    ]


class AuditChange(ApiModel):
    field: str = Field(examples=["redirect"])
    before: Any = Field(description="the value before; null for a secret, which is never shown")
    after: Any = Field(description="the value after; null for a secret, which is never shown")


# Not strict even in a strict model: the text the check passed on is parsed
# here, which strict mode refuses for anything but a datetime object.
Rfc3339Time = Annotated[
    AwareDatetime,
    Strict(False),
    BeforeValidator(rules.check_rfc3339),
    AfterValidator(rules.in_utc),
]

AuditAction = Literal[
    "client.created",
    "client.replaced",
    "client.updated",
    "client.deleted",
    "client.secret_rotated",
    "client.imported",
    "token.created",
    "token.revoked",
]


class AuditEventRead(ApiModel):
    id: str
    at: datetime
    action: AuditAction
    client_id: str | None
    actor: dict[str, str] = Field(
        description='{"type": "token", "tokenId", "tokenName"} or {"type": "cli"}',
        examples=[{"type": "token", "tokenId": "tok_0123456789abcdef", "tokenName": "ops"}],
    )
    request_id: str | None
    changes: list[AuditChange]


class AuditEventPage(ApiModel):
    items: list[AuditEventRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")
