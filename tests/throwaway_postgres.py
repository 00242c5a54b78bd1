"""A PostgreSQL cluster of the tests' own (Debian's postgresql-common), to
stop, pause and make read-only without touching the server other tests use.

The cluster listens on 127.0.0.1 only, on a free port, trusts local
connections, and is always dropped at the end."""

import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg

COMMAND_TIMEOUT = 60
DATABASE = "registry"
# Durability is no concern of a cluster that lives for one test module.
SETTINGS = """\
listen_addresses = '127.0.0.1'
fsync = off
full_page_writes = off
"""


def installed_version() -> str:
    """The newest PostgreSQL major version with clusters configured here."""
    versions = [entry.name for entry in Path("/etc/postgresql").iterdir() if entry.is_dir()]
    return max(versions, key=float)


def _run(*command: str) -> str:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return result.stdout


class Cluster:
    def __init__(self, version: str, name: str, port: int) -> None:
        self.version = version
        self.name = name
        self.port = port
        self._stopped: list[int] = []

    def url(self, *, user: str = "postgres", password: str | None = None) -> str:
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def data_directory(self) -> Path:
        for line in _run("pg_lsclusters", "--no-header").splitlines():
            version, name, _port, _status, _owner, data, *_ = line.split()
            if (version, name) == (self.version, self.name):
                return Path(data)
        raise RuntimeError(f"cluster {self.version}/{self.name} is not listed")

    def start(self) -> None:
        _run("pg_ctlcluster", self.version, self.name, "start")

    def stop(self) -> None:
        _run("pg_ctlcluster", self.version, self.name, "stop", "--mode", "fast")

    def execute(self, statement: str, *, database: str = "postgres") -> None:
        """One statement as the superuser, outside any transaction."""
        conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"
        # A session of its own setting, whatever the cluster's defaults say.
        options = "-c default_transaction_read_only=off"
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5, options=options) as conn:
            conn.execute(statement)

    def _postmaster_pid(self) -> int:
        first_line = (self.data_directory / "postmaster.pid").read_text().splitlines()[0]
        return int(first_line)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Every process of the cluster stopped (SIGSTOP), as a hung host
        looks from outside: connections are accepted by the kernel and
        nothing ever answers. Always continued on the way out."""
        postmaster = self._postmaster_pid()
        try:
            # The postmaster first, so it forks no child after the list is made.
            self._signal(postmaster, signal.SIGSTOP)
            children = _run("pgrep", "-P", str(postmaster)).split()
            for child in children:
                self._signal(int(child), signal.SIGSTOP)
            yield
        finally:
            self.resume()

    def _signal(self, pid: int, signum: signal.Signals) -> None:
        os.kill(pid, signum)
        if signum == signal.SIGSTOP:
            self._stopped.append(pid)

    def resume(self) -> None:
        """Continue every process this cluster had stopped."""
        while self._stopped:
            with suppress(ProcessLookupError):
                os.kill(self._stopped.pop(), signal.SIGCONT)


@contextmanager
def throwaway_cluster(port: int) -> Iterator[Cluster]:
    """A new cluster with a database named `registry`, dropped afterwards."""
    version = installed_version()
    cluster = Cluster(version, f"registry_test_{secrets.token_hex(4)}", port)
    try:
        _run(
            "pg_createcluster",
            *(version, cluster.name, "--port", str(port)),
            *("--", "--auth=trust", "--no-sync"),
        )
        # Appended to the cluster's own file, which pg_dropcluster removes;
        # a later line wins over the default above it.
        with (Path("/etc/postgresql") / version / cluster.name / "postgresql.conf").open("a") as f:
            f.write(SETTINGS)
        cluster.start()
        cluster.execute(f"CREATE DATABASE {DATABASE}")
        yield cluster
    finally:
        cluster.resume()
        with suppress(RuntimeError):  # a cluster that was never made
            _run("pg_dropcluster", "--stop", version, cluster.name)
