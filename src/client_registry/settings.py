"""Service settings, read once from CLIENT_REGISTRY_* variables and `.env`."""

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

LogLevel = Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]
LogFormat = Literal["text", "json"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLIENT_REGISTRY_", env_file=".env", extra="ignore"
    )

    database_url: str = "sqlite:///./client-registry.db"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: LogLevel = "INFO"
    # text: one human line a record; json: one JSON object a line, for collectors.
    log_format: LogFormat = "text"
    # Serve GET /metrics (Prometheus text format, no token); false makes it a 404.
    metrics: bool = True
    # Hash settings for client secrets: the first scheme hashes new secrets,
    # the others are still verified and upgraded on the next authentication.
    secret_schemes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["pbkdf2_sha256", "sha512_crypt", "sha256_crypt"],
        min_length=1,
    )
    # Generated secrets carry 256 random bits, so a low cost is enough;
    # secrets chosen by a caller may be guessable and get a password-grade cost.
    generated_secret_rounds: int = Field(default=10, ge=1)
    given_secret_rounds: int = Field(default=600_000, ge=1)
    secret_prefix: str = "crs_"  # noqa: S105 - a public marker, not a secret
    # Every wait on the database has a bound (seconds). A few seconds: long
    # enough for a busy database, short enough that an outage is a prompt 503.
    connect_timeout: float = Field(default=3.0, gt=0)
    statement_timeout: float = Field(default=5.0, gt=0)  # SQLite: its busy timeout
    pool_timeout: float = Field(default=5.0, gt=0)  # waiting for a free connection
    # PostgreSQL connections per process: a handful serve thousands of short
    # queries a second, and replicas times this must fit max_connections.
    pool_size: int = Field(default=5, ge=1, le=100)

    @field_validator("cors_origins", "secret_schemes", mode="before")
    @classmethod
    def split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def known_database(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "must be a URL such as sqlite:///./registry.db or postgresql://user@host/db"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def lower_log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value
