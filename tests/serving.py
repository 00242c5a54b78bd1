"""`client-registry serve` as a subprocess, with the settings a test chooses."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from conftest import free_port

CLI = Path(sys.executable).parent / "client-registry"
TIMEOUT = 60


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    stderr_file: Path

    @property
    def stderr(self) -> str:
        return self.stderr_file.read_text()


def run_cli(url: str, workdir: Path, *args: str) -> str:
    """Run a command to its end and return its standard output."""
    result = subprocess.run(
        [str(CLI), *args],
        env=environment(url),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def environment(url: str, **settings: str) -> dict[str, str]:
    """This process's environment without its CLIENT_REGISTRY_* settings, plus these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENT_REGISTRY_")}
    env["CLIENT_REGISTRY_DATABASE_URL"] = url
    for name, value in settings.items():
        env[f"CLIENT_REGISTRY_{name.upper()}"] = value
    return env


@contextmanager
def serving(
    url: str, workdir: Path, *, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """Serve on a free loopback port until /healthz answers; stopped on exit
    (SIGTERM, so the server shuts down as it would in production)."""
    port = free_port()
    stderr_file = workdir / f"serve-{port}.err"
    command = [str(CLI), "serve", "--port", str(port), "--workers", str(workers)]
    with (workdir / f"serve-{port}.out").open("w") as out, stderr_file.open("w") as err:
        process = subprocess.Popen(
            command,
            env={**(env or environment(url)), "PYTHONUNBUFFERED": "1"},
            cwd=workdir,
            stdout=out,
            stderr=err,
        )
    served = Served(f"http://127.0.0.1:{port}", process, stderr_file)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not _answers(f"{served.url}/healthz"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start: {served.stderr}")
            time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
