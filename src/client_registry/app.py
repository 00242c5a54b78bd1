"""create_app(settings): the FastAPI application, built at start-up."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from client_registry import docs, problems
from client_registry.auth import AdminAuth
from client_registry.body_guard import BodyGuard
from client_registry.db import POOL_OVERFLOW, POOL_SIZE, make_engine
from client_registry.hot_reads import open_hot_reads
from client_registry.http_methods import HttpMethods
from client_registry.routes import clients, health
from client_registry.runtime import Runtime
from client_registry.secrets import SecretHasher
from client_registry.service import Clock
from client_registry.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings | None = None, *, clock: Clock = utc_now) -> FastAPI:
    settings = settings or Settings()
    logging.getLogger("client_registry").setLevel(settings.log_level)
    hasher = SecretHasher(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        hot_reads = open_hot_reads(engine)
        app.state.runtime = Runtime(
            settings=settings,
            engine=engine,
            hot_reads=hot_reads,
            hasher=hasher,
            clock=clock,
            connection_slots=asyncio.Semaphore(POOL_SIZE + POOL_OVERFLOW),
            sqlite_writers=asyncio.Lock() if engine.dialect.name == "sqlite" else None,
        )
        yield
        try:
            await hot_reads.close()
        finally:
            engine.dispose()

    app = FastAPI(
        title="OAuth2 client registry",
        version="0.1.0",
        description="The registry of OAuth2 clients for an authorization server.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    problems.install(app)
    # Outermost last: errors anywhere inside become a bare 500 problem.
    app.add_middleware(HttpMethods)
    app.add_middleware(BodyGuard)
    app.add_middleware(AdminAuth)
    app.add_middleware(problems.CrashGuard)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match"],
            expose_headers=["ETag", "Location", "Link", "Retry-After"],
        )
    app.include_router(health.router)
    app.include_router(clients.router)
    docs.install(app)
    return app
