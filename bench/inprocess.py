"""The cost of one get and one authenticate through the whole ASGI app,
called in-process: no server, no socket, no wrk, so the app's own share of
a request is measured apart from the HTTP server's, and moves less with the
machine's load than the side-by-side runs. Prints the best of 7 rounds.

Run: python bench/inprocess.py [--calls 14000]
(on PostgreSQL when CLIENT_REGISTRY_BENCH_POSTGRES_URL is set)
"""

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from client_registry.app import create_app
from client_registry.settings import Settings
from reference_app import app as reference_app
from run import _postgres_schema, seed

ROUNDS = 7
Call = Callable[[], Awaitable[int]]


def _caller(app: FastAPI, method: str, path: str, token: str, body: bytes = b"") -> Call:
    headers = [(b"host", b"bench"), (b"authorization", b"Bearer " + token.encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]

    async def call() -> int:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
        return statuses[0]

    return call


async def _best_us(call: Call, calls: int) -> float:
    assert await call() == 200
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(calls // ROUNDS):
            await call()
        best = min(best, (time.perf_counter() - started) / (calls // ROUNDS))
    return best * 1e6


def _measure(url: str, calls: int) -> None:
    sample, token, _ = seed(url, 100)
    asyncio.run(_drive(url, sample[0], token, calls))


async def _drive(url: str, client: tuple[str, str], token: str, calls: int) -> None:
    client_id, secret = client
    app = create_app(Settings(database_url=url, log_level="WARNING"))
    secret_body = json.dumps({"secret": secret, "method": "client_secret_basic"}).encode()
    reference = _caller(reference_app, "GET", "/v1/clients/x", token)
    get = _caller(app, "GET", f"/v1/clients/{client_id}", token)
    authenticate = _caller(app, "POST", f"/v1/clients/{client_id}/authenticate", token, secret_body)
    async with app.router.lifespan_context(app):
        for name, call in (("reference", reference), ("get", get), ("authenticate", authenticate)):
            print(f"{name:<14}{await _best_us(call, calls):8.1f} us", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=14000)
    args = parser.parse_args()
    postgres = os.environ.get("CLIENT_REGISTRY_BENCH_POSTGRES_URL")
    if postgres:
        with _postgres_schema(postgres) as url:
            print("[postgresql]")
            _measure(url, args.calls)
        return
    with tempfile.TemporaryDirectory() as folder:
        print("[sqlite]")
        _measure(f"sqlite:///{folder}/bench.db", args.calls)


if __name__ == "__main__":
    main()
