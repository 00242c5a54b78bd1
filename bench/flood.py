"""Authentication of generated-secret clients while others flood the
service with wrong given secrets (password-grade hashes, about 250 ms each).

Starts `client-registry serve` (one worker) on a fresh SQLite file (and on
PostgreSQL when CLIENT_REGISTRY_BENCH_POSTGRES_URL is set), then measures
authenticate and /healthz with wrk, first alone, then while 16 more
connections send wrong secrets to a client whose secret was given.

Run: python bench/flood.py [--duration 10]
"""

import argparse
import os
import sys
import tempfile
import threading

import httpx

from run import CLI, Figures, _free_port, _lua, _postgres_schema, _server, seed, wrk

FLOODERS = 16


def _flood(base: str, token: str, client_id: str, duration: int) -> Figures:
    body = '{"secret": "wrong-' + "x" * 40 + '", "method": "client_secret_basic"}'
    script = _lua([("POST", f"/v1/clients/{client_id}/authenticate", body)], token)
    return wrk(base, script, duration, connections=FLOODERS)


def run_engine(name: str, url: str, duration: int) -> None:
    sample, token, _ = seed(url, 100)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CLIENT_REGISTRY_DATABASE_URL": url,
        "CLIENT_REGISTRY_LOG_LEVEL": "warning",
    }
    authenticate = _lua(
        [
            (
                "POST",
                f"/v1/clients/{i}/authenticate",
                f'{{"secret": "{s}", "method": "client_secret_basic"}}',
            )
            for i, s in sample
        ],
        token,
    )
    with _server([str(CLI), "serve", "--port", str(port)], env, f"{base}/healthz"):
        headers = {"Authorization": f"Bearer {token}"}
        given = httpx.post(
            f"{base}/v1/clients",
            headers=headers,
            json={"name": "given", "grantTypes": ["client_credentials"], "secret": "g" * 40},
            timeout=30,
        ).json()["id"]
        wrk(base, authenticate, 2)
        quiet_auth = wrk(base, authenticate, duration, connections=4)
        quiet_health = wrk(f"{base}/healthz", None, duration, connections=1)
        results: dict[str, Figures] = {}
        flood = threading.Thread(
            target=lambda: results.setdefault("flood", _flood(base, token, given, duration + 4))
        )
        flood.start()
        loud_auth = wrk(base, authenticate, duration // 2, connections=4)
        loud_health = wrk(f"{base}/healthz", None, duration // 2, connections=1)
        flood.join()
    print(f"\n[{name}] {FLOODERS} connections sending wrong given secrets")
    print(f"{'call':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    rows = {
        "authenticate (generated), alone": quiet_auth,
        "authenticate (generated), flooded": loud_auth,
        "/healthz, alone": quiet_health,
        "/healthz, flooded": loud_health,
        "the flood (wrong given secrets)": results["flood"],
    }
    for label, figures in rows.items():
        print(f"{label:<34}{figures.rps:>9.0f}{figures.p50_ms:>9.2f}{figures.p99_ms:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run_engine("sqlite", f"sqlite:///{folder}/bench.db", args.duration)
    postgres = os.environ.get("CLIENT_REGISTRY_BENCH_POSTGRES_URL")
    if postgres:
        with _postgres_schema(postgres) as url:
            run_engine("postgresql", url, args.duration)


if __name__ == "__main__":
    sys.exit(main())
