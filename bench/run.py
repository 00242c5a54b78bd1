"""Load on the hot path, measured side by side with the framework's ceiling.

Starts `client-registry serve` (one worker, 127.0.0.1) on a fresh SQLite file
(and on a fresh PostgreSQL schema when CLIENT_REGISTRY_BENCH_POSTGRES_URL is
set), seeds clients, drives each call with wrk, and prints requests/s, p50
and p99 latency, the ratio to the reference app (run with the same server
options, taking turns with each call) and the server's peak RSS.

Run: python bench/run.py [--clients 1000] [--duration 10]
"""

import argparse
import asyncio
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from client_registry.audit import COMMAND_LINE
from client_registry.database import Database, open_database
from client_registry.db import database_url, make_engine
from client_registry.migrate import upgrade_to_head
from client_registry.pagination import encode_cursor
from client_registry.schemas import ClientCreate
from client_registry.secrets import SecretHasher
from client_registry.service import create_client
from client_registry.settings import Settings
from client_registry.tokens import ALL_SCOPES, create_token

HERE = Path(__file__).resolve().parent
CLI = Path(sys.executable).parent / "client-registry"
CONNECTIONS = 16
SAMPLE = 1000  # clients the load cycles through
WARM_UP = 2  # seconds of unmeasured load before each read is measured
ROUNDS = 3  # turns the reference and a call take, each of duration // ROUNDS seconds


@dataclass
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(
    command: list[str], env: dict[str, str], probe: str
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=HERE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(probe, timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{command[0]} did not start")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else float("nan")


def _lua(requests: list[tuple[str, str, str | None]], token: str) -> str:
    """A wrk script cycling through (method, path, body) requests."""

    def quote(value: str | None) -> str:
        if value is None:
            return "nil"
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    rows = ",\n".join(f"{{{quote(m)}, {quote(p)}, {quote(b)}}}" for m, p, b in requests)
    return f"""
local requests = {{
{rows}
}}
local i = 0
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #requests + 1
  local r = requests[i]
  return wrk.format(r[1], r[2], nil, r[3])
end
"""


def _create_lua(token: str) -> str:
    """Each wrk thread creates clients with ids of its own."""
    run = secrets.token_hex(4)
    return f"""
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tag", "{run}-" .. threads)
end
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local body = '{{"id": "bench-' .. tag .. '-' .. n .. '", "name": "created by wrk", ' ..
    '"redirect": ["https://app.example.com/callback"]}}'
  return wrk.format("POST", "/v1/clients", nil, body)
end
"""


def _to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(url: str, script: str | None, duration: int, connections: int = CONNECTIONS) -> Figures:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        if script is not None:
            lua.write(script)
            lua.flush()
            command[1:1] = ["-s", lua.name]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _to_ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _to_ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Figures(rps, p50, p99, int(errors.group(1)) if errors else 0)


def seed(url: str, count: int) -> tuple[list[tuple[str, str]], str, int]:
    """Migrate, create `count` clients and a token; returns a sample of
    (id, secret), the token and the last client's sequence."""
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    settings = Settings(database_url=url)
    return asyncio.run(_seed(open_database(settings), settings, count))


async def _seed(
    database: Database, settings: Settings, count: int
) -> tuple[list[tuple[str, str]], str, int]:
    hasher = SecretHasher(settings)
    sample: list[tuple[str, str]] = []
    try:
        token = await create_token(database, name="bench", scopes=ALL_SCOPES)
        for index in range(count):
            data = ClientCreate.model_validate(
                {
                    "name": f"Benchmark client {index:06d}",
                    "redirect": ["https://app.example.com/callback"],
                    "grantTypes": ["authorization_code", "refresh_token"],
                }
            )
            document, secret = await create_client(
                database,
                data=data,
                hasher=hasher,
                secret_prefix=settings.secret_prefix,
                now=_now,
                actor=COMMAND_LINE,
            )
            if index % max(1, count // SAMPLE) == 0:
                sample.append((json.loads(document.document)["id"], secret))
        rows = await database.scans.fetch("SELECT max(seq) FROM clients", {})
    finally:
        await database.close()
        hasher.close()
    return sample[:SAMPLE], token, int(rows[0][0])


def _now() -> datetime:
    return datetime.now(UTC)


def run_engine(name: str, url: str, count: int, duration: int) -> None:
    started = time.monotonic()
    sample, token, last_seq = seed(url, count)
    print(f"\n[{name}, {count} clients] seeded in {time.monotonic() - started:.1f}s", flush=True)
    env = {**os.environ, "CLIENT_REGISTRY_DATABASE_URL": url}
    port, ref_port = _free_port(), _free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "reference_app:app", "--host", "127.0.0.1"]
    reference_url = f"http://127.0.0.1:{ref_port}/v1/clients/x"
    serve = [str(CLI), "serve", "--port", str(port), "--workers", "1"]
    base = f"http://127.0.0.1:{port}"
    deep = encode_cursor(max(0, last_seq - 100))
    scenarios = {
        "get by id": _lua([("GET", f"/v1/clients/{i}", None) for i, _ in sample], token),
        "authenticate": _lua(
            [
                (
                    "POST",
                    f"/v1/clients/{i}/authenticate",
                    f'{{"secret": "{s}", "method": "client_secret_basic"}}',
                )
                for i, s in sample
            ],
            token,
        ),
        "list first page": _lua([("GET", "/v1/clients?limit=50", None)], token),
        "list deep page": _lua([("GET", f"/v1/clients?limit=50&cursor={deep}", None)], token),
        "create": _create_lua(token),
    }
    env["CLIENT_REGISTRY_LOG_LEVEL"] = "warning"
    # The reference and the call take turns, a few seconds each: the host's
    # load drifts, and a ratio is only as good as its two figures. A call's
    # ratio is the median over its rounds.
    seconds = max(2, duration // ROUNDS)
    rows: list[tuple[str, float, float, float, float, int]] = []
    reference_rates: list[float] = []
    reference_server = [*uvicorn, "--port", str(ref_port), "--log-level", "warning"]
    with (
        _server(reference_server, env, reference_url),
        _server(serve, env, f"{base}/healthz") as process,
    ):
        wrk(reference_url, None, WARM_UP)
        for scenario, script in scenarios.items():
            if scenario != "create":  # warming create up would add clients
                wrk(base, script, WARM_UP)
            rounds = []
            for _ in range(ROUNDS):
                reference = wrk(reference_url, None, seconds)
                if scenario == "create":  # ids of its own in every round
                    script = _create_lua(token)
                rounds.append((wrk(base, script, seconds), reference.rps))
                reference_rates.append(reference.rps)
            calls = [figures for figures, _ in rounds]
            rows.append(
                (
                    scenario,
                    statistics.mean(figures.rps for figures in calls),
                    statistics.median(figures.p50_ms for figures in calls),
                    max(figures.p99_ms for figures in calls),
                    statistics.median(figures.rps / rate for figures, rate in rounds),
                    sum(figures.errors for figures in calls),
                )
            )
        rss = _peak_rss_mb(process.pid)
    low, high = min(reference_rates), max(reference_rates)
    print(f"{'call':<18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'x ref':>7}{'non-2xx':>9}")
    print(f"{'reference':<18}{f'{low:.0f}-{high:.0f}':>9}{'':>18}{1:>7.2f}{0:>9}")
    for scenario, rps, p50, p99, ratio, errors in rows:
        print(f"{scenario:<18}{rps:>9.0f}{p50:>9.2f}{p99:>9.2f}{ratio:>7.2f}{errors:>9}")
    print(f"server peak RSS: {rss:.0f} MB")


@contextmanager
def _postgres_schema(raw_url: str) -> Iterator[str]:
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(database_url(raw_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = database_url(raw_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per call")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run_engine("sqlite", f"sqlite:///{folder}/bench.db", args.clients, args.duration)
    postgres = os.environ.get("CLIENT_REGISTRY_BENCH_POSTGRES_URL")
    if postgres:
        with _postgres_schema(postgres) as url:
            run_engine("postgresql", url, args.clients, args.duration)


if __name__ == "__main__":
    main()
