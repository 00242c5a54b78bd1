"""Prometheus metrics and GET /metrics.

The metrics are process-wide, as prometheus_client means them to be. With
several workers, `serve` points PROMETHEUS_MULTIPROC_DIR at a fresh folder
before any worker starts; each worker then keeps its figures in files there
and a scrape of any worker sums them all."""

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.exposition import choose_encoder
from starlette.routing import compile_path
from starlette.types import Scope

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"  # the route label of a path no route serves
_TEMPLATES = "route_templates"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# The `_created` series double every counter and histogram for a start time
# Prometheus does not use; leave them out.
disable_created_metrics()  # type: ignore[no-untyped-call]

REQUESTS = Counter(
    "client_registry_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_DURATION = Histogram(
    "client_registry_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
AUTHENTICATIONS = Counter(
    "client_registry_client_authentications",
    "Client secret checks of the authenticate call, by outcome (passed, failed).",
    ["outcome"],
)
HASH_UPGRADES = Counter(
    "client_registry_secret_hash_upgrades",
    "Secret hashes of an older scheme or cost replaced, once stored, by a stronger one "
    "at a successful authentication.",
)
# Incremented by the data layer, one `kind` per kind of failure.
DATABASE_ERRORS = Counter(
    "client_registry_database_errors",
    "Database calls that failed, by kind of failure.",
    ["kind"],
)
# Set by the data layer; summed over the live workers.
POOL_CONNECTIONS_IN_USE = Gauge(
    "client_registry_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)

# Labelled children by (method, route, status): looking them up in
# prometheus_client takes a lock and a validation on every request.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_outcomes: dict[str, Any] = {}


def route_template(scope: Scope) -> str:
    """The template of the route that served the request, or would have:
    a request refused before routing (a missing token, a body too large)
    counts under its route too."""
    template: str | None = getattr(scope.get("route"), "path_format", None)
    if template is not None:
        return template
    for pattern, api_template in _api_templates(scope["app"]):
        if pattern.match(scope["path"]):
            return api_template
    return UNMATCHED


def _api_templates(app: FastAPI) -> list[tuple[re.Pattern[str], str]]:
    """The API's path templates, read once from its OpenAPI document: only
    /v1 requests are answered before routing, and every /v1 route is there."""
    templates: list[tuple[re.Pattern[str], str]] | None = getattr(app.state, _TEMPLATES, None)
    if templates is None:
        templates = [(compile_path(path)[0], path) for path in app.openapi()["paths"]]
        setattr(app.state, _TEMPLATES, templates)
    return templates


def observe_request(method: str, template: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "other"
    key = (method, template, status)
    children = _children.get(key)
    if children is None:
        children = (
            REQUESTS.labels(method, template, str(status)),
            REQUEST_DURATION.labels(method, template),
        )
        _children[key] = children
    children[0].inc()
    children[1].observe(seconds)


def count_authentication(outcome: str) -> None:
    child = _outcomes.get(outcome)
    if child is None:
        child = _outcomes[outcome] = AUTHENTICATIONS.labels(outcome)
    child.inc()


def _registry() -> CollectorRegistry:
    if MULTIPROCESS_DIR not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def install(app: FastAPI) -> None:
    """GET /metrics, without a token and outside the API description."""

    @app.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(_registry()), headers={"Content-Type": content_type})


def worker_stopped() -> None:
    """Drop this worker's live gauges from the sums of the others."""
    if MULTIPROCESS_DIR in os.environ:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


@contextmanager
def shared_between(workers: int) -> Iterator[None]:
    """A fresh folder for the workers' figures while `workers` > 1 serve,
    removed afterwards; one worker keeps them in memory."""
    if workers <= 1:
        yield
        return
    folder = tempfile.mkdtemp(prefix="client-registry-metrics-")
    os.environ[MULTIPROCESS_DIR] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_DIR]
        shutil.rmtree(folder, ignore_errors=True)
