"""The `client-registry` command as a subprocess: a clean environment of
CLIENT_REGISTRY_* settings, and `serve` on a free loopback port with its
output kept in files."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from conftest import free_port

CLI = Path(sys.executable).parent / "client-registry"
TIMEOUT = 60


def environment(url: str, **settings: object) -> dict[str, str]:
    """This process's environment without its CLIENT_REGISTRY_* variables,
    plus the database URL and `settings` (pool_size=2 is ..._POOL_SIZE=2)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENT_REGISTRY_")}
    env["CLIENT_REGISTRY_DATABASE_URL"] = url
    env.update({f"CLIENT_REGISTRY_{key.upper()}": str(v) for key, v in settings.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start(url: str, workdir: Path, *args: str, **settings: object) -> "subprocess.Popen[str]":
    """The command running, its output piped; see `finish`."""
    return subprocess.Popen(
        [str(CLI), *args],
        env=environment(url, **settings),
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: "subprocess.Popen[str]") -> subprocess.CompletedProcess[str]:
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run(
    url: str, workdir: Path, *args: str, **settings: object
) -> subprocess.CompletedProcess[str]:
    return finish(start(url, workdir, *args, **settings))


class Server:
    """`client-registry serve` on a free port of 127.0.0.1."""

    def __init__(self, url: str, workdir: Path, name: str, **settings: object) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._stdout = workdir / f"{name}.out"
        self._stderr = workdir / f"{name}.err"
        with self._stdout.open("w") as out, self._stderr.open("w") as err:
            self._process = subprocess.Popen(
                [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=environment(url, **settings),
                cwd=workdir,
                stdout=out,
                stderr=err,
            )

    @property
    def stdout(self) -> str:
        return self._stdout.read_text()

    @property
    def stderr(self) -> str:
        return self._stderr.read_text()

    def wait_until_up(self) -> None:
        """Returns once /healthz answers; fails if serve exits first."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            if self._process.poll() is not None:
                raise AssertionError(
                    f"serve exited with {self._process.returncode}: {self.stdout}{self.stderr}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not answer in time: {self.stdout}{self.stderr}")
            time.sleep(0.1)

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=15)


@contextmanager
def serving(url: str, workdir: Path, name: str, **settings: object) -> Iterator[Server]:
    """A started server, up, stopped on the way out."""
    server = Server(url, workdir, name, **settings)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()
