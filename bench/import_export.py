"""Time `client-registry import` and `export` of many clients with pre-hashed
secrets, and the peak memory of each command, on SQLite and, when
CLIENT_REGISTRY_BENCH_POSTGRES_URL is set, on PostgreSQL beside it; then
an import of plaintext secrets at the password grade, against one core's
rate of hashing, to show how many cores the hashing used.

Run: python bench/import_export.py [--clients 100000] [--plaintext 64]
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from client_registry.secrets import SecretHasher
from client_registry.settings import Settings

CLI = Path(sys.executable).parent / "client-registry"


def write_lines(path: Path, count: int) -> None:
    """Clients as an export writes them; a few hundred distinct hashes of
    generated secrets, as hashing is not what is measured here."""
    hasher = SecretHasher(Settings())
    hashes = [hasher.hash("crs_" + secrets.token_urlsafe(32), generated=True) for _ in range(256)]
    hasher.close()
    with path.open("w") as out:
        for n in range(count):
            line = {
                "id": f"client-{n:07d}",
                "name": f"Client {n}",
                "redirect": [f"https://app{n}.example.com/callback"],
                "grantTypes": ["authorization_code", "refresh_token"],
                "scopes": ["openid", "email", "profile"],
                "secretHash": hashes[n % len(hashes)],
            }
            out.write(json.dumps(line) + "\n")


def write_plaintext_lines(path: Path, count: int) -> None:
    with path.open("w") as out:
        for n in range(count):
            line = {
                "id": f"chosen-{n:05d}",
                "name": f"Client {n}",
                "grantTypes": ["client_credentials"],
                "secret": secrets.token_urlsafe(32),
            }
            out.write(json.dumps(line) + "\n")


def one_core_rate(samples: int = 4) -> float:
    """Password-grade hashes a second on one core, in this process."""
    hasher = SecretHasher(Settings())
    start = time.perf_counter()
    for _ in range(samples):
        hasher.hash(secrets.token_urlsafe(32), generated=False)
    seconds = time.perf_counter() - start
    hasher.close()
    return samples / seconds


def measure_plaintext(url: str, workdir: Path, count: int) -> None:
    lines = workdir / "plaintext.jsonl"
    write_plaintext_lines(lines, count)
    single = one_core_rate()
    run(url, "migrate")
    seconds, _ = run(url, "import", str(lines))
    rate = count / seconds
    print(f"[sqlite, {count} plaintext secrets at the password grade, {os.cpu_count()} cores]")
    print(f"one core hashes {single:.1f}/s; import hashed and stored {rate:.1f}/s", end="")
    print(f" ({rate / single:.1f} cores' worth, process start included)")


def run(url: str, *args: str, stdout: int | None = None) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one command; fails if it does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENT_REGISTRY_")}
    env["CLIENT_REGISTRY_DATABASE_URL"] = url
    start = time.perf_counter()
    process = subprocess.Popen([str(CLI), *args], env=env, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(args)} failed: {process.stderr.read().decode()}")  # type: ignore[union-attr]
    return seconds, usage.ru_maxrss / 1024  # kilobytes on Linux


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    schema = f"bench_{secrets.token_hex(4)}"
    plain = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def measure(engine: str, url: str, lines: Path, workdir: Path, count: int) -> None:
    run(url, "migrate")
    imported = run(url, "import", str(lines))
    exported_file = workdir / f"{engine}-export.jsonl"
    exported = run(url, "export", "--output", str(exported_file))
    exported_lines = sum(1 for _ in exported_file.open())
    assert exported_lines == count, f"exported {exported_lines} of {count}"
    print(f"[{engine}, {count} clients]")
    print(f"{'command':<10}{'seconds':>9}{'clients/s':>11}{'peak RSS MB':>13}")
    for name, (seconds, rss) in (("import", imported), ("export", exported)):
        print(f"{name:<10}{seconds:>9.1f}{count / seconds:>11,.0f}{rss:>13.0f}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--plaintext", type=int, default=64, help="0 skips this part")
    args = parser.parse_args()
    count = args.clients
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        lines = workdir / "clients.jsonl"
        write_lines(lines, count)
        measure("sqlite", f"sqlite:///{workdir / 'registry.db'}", lines, workdir, count)
        postgres = os.environ.get("CLIENT_REGISTRY_BENCH_POSTGRES_URL")
        if postgres:
            with postgres_schema(postgres) as url:
                measure("postgresql", url, lines, workdir, count)
        if args.plaintext:
            measure_plaintext(f"sqlite:///{workdir / 'plaintext.db'}", workdir, args.plaintext)


if __name__ == "__main__":
    main()
