"""Instructions per request for get and authenticate, counted by valgrind:
the same figure on a busy host as on a quiet one, so a change to the hot
path can be weighed alone, where requests per second move by a fifth from
run to run. The app is called in-process (bench/inprocess.py) at the
service's default log level, so the access line is counted; the HTTP
server and the kernel are not.

Each call runs twice under callgrind, once with no measured calls and once
with --calls; the difference divided by --calls is the figure.

Run: python bench/instructions.py [--calls 1000]
(on PostgreSQL when CLIENT_REGISTRY_BENCH_POSTGRES_URL is set; there the
count moves by a few percent with how soon the server answers)
Needs valgrind (Debian package `valgrind`).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import uvloop

from client_registry.app import create_app
from client_registry.settings import Settings
from inprocess import _caller
from reference_app import app as reference_app
from run import _postgres_schema, seed

CALLS = ("reference", "get", "authenticate")
WARM_UP = 200


async def _drive(call_name: str, calls: int, url: str, client: list[str], token: str) -> None:
    client_id, secret = client
    app = create_app(Settings(database_url=url))
    body = json.dumps({"secret": secret, "method": "client_secret_basic"}).encode()
    call = {
        "reference": _caller(reference_app, "GET", "/v1/clients/x", token),
        "get": _caller(app, "GET", f"/v1/clients/{client_id}", token),
        "authenticate": _caller(app, "POST", f"/v1/clients/{client_id}/authenticate", token, body),
    }[call_name]
    async with app.router.lifespan_context(app):
        for _ in range(WARM_UP):
            assert await call() == 200
        for _ in range(calls):
            await call()


def _count(call: str, calls: int, *, seeded: Path) -> int:
    """Instructions of one run of this script in drive mode under callgrind."""
    command = [
        *("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"),
        *(sys.executable, __file__, "--drive", call, "--calls", str(calls)),
        *("--seeded", str(seeded)),
    ]
    # One hash seed for every run, so dictionaries probe alike from run to run.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    # The app's access lines go to standard error with valgrind's summary.
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stderr
    return int(re.search(r"Collected : (\d+)", output).group(1))  # type: ignore[union-attr]


def _measure(url: str, calls: int, folder: str) -> None:
    sample, token, _ = seed(url, 100)
    seeded = Path(folder) / "seeded.json"
    seeded.write_text(json.dumps({"url": url, "client": sample[0], "token": token}))
    for call in CALLS:
        # The two runs side by side: one core each.
        with ThreadPoolExecutor(2) as pool:
            idle, busy = pool.map(partial(_count, call, seeded=seeded), (0, calls))
        print(f"{call:<14}{(busy - idle) / calls:>10,.0f} instructions", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--drive", choices=CALLS, help=argparse.SUPPRESS)
    parser.add_argument("--seeded", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        seeded = json.loads(args.seeded.read_text())
        uvloop.run(_drive(args.drive, args.calls, seeded["url"], seeded["client"], seeded["token"]))
        return
    with tempfile.TemporaryDirectory() as folder:
        postgres = os.environ.get("CLIENT_REGISTRY_BENCH_POSTGRES_URL")
        if postgres:
            with _postgres_schema(postgres) as url:
                print("[postgresql]")
                _measure(url, args.calls, folder)
            return
        print("[sqlite]")
        _measure(f"sqlite:///{folder}/bench.db", args.calls, folder)


if __name__ == "__main__":
    main()
