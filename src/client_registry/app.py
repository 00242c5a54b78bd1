"""create_app(settings): the FastAPI application, built at start-up."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig

from client_registry import docs, logs, metrics, problems
from client_registry.access import AccessEdge
from client_registry.auth import AdminAuth
from client_registry.body_guard import BodyGuard
from client_registry.database import open_database
from client_registry.hot_routes import HotRoutes
from client_registry.http_methods import HttpMethods
from client_registry.routes import audit, clients, console, health
from client_registry.runtime import Runtime
from client_registry.secrets import SecretHasher
from client_registry.service import Clock
from client_registry.settings import Settings

_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    settings = settings or Settings()
    logs.configure(settings)
    hasher = SecretHasher(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = open_database(settings)
        app.state.runtime = Runtime(
            settings=settings, database=database, hasher=hasher, clock=clock
        )
        yield
        try:
            await database.close()
        finally:
            hasher.close()
            metrics.worker_stopped()

    app = FastAPI(
        title="OAuth2 client registry",
        version="0.1.0",
        description="The registry of OAuth2 clients for an authorization server.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Requests are counted and logged by the service itself (AccessEdge,
        # metrics.py). FastAPI's OpenTelemetry bridge would otherwise look up
        # the global providers on every request, about 10 us, to find none,
        # and, were one configured, record exception messages, which may
        # quote a secret.
        telemetry=_NO_TELEMETRY,
    )
    problems.install(app)
    # Outermost last: errors anywhere inside become a bare 500 problem.
    app.add_middleware(HttpMethods)
    app.add_middleware(BodyGuard)
    app.add_middleware(AdminAuth)
    # Get and authenticate when nothing inside would refuse them; the rest
    # goes on to the layers added before it.
    app.add_middleware(HotRoutes)
    app.add_middleware(problems.CrashGuard)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match"],
            expose_headers=["ETag", "Location", "Link", "Retry-After", "X-Request-ID"],
        )
    # Outermost of all: every answer, CORS preflights included, gets a
    # request id, the security headers, an access line and its metrics.
    app.add_middleware(AccessEdge, log_format=settings.log_format)
    app.include_router(health.router)
    app.include_router(clients.router)
    app.include_router(audit.router)
    app.include_router(console.router)
    docs.install(app)
    if settings.metrics:
        metrics.install(app)
    return app
