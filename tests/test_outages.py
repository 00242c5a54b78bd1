"""A database in trouble (API.md section 6), for real: `client-registry
serve` on a PostgreSQL cluster of the tests' own, which is stopped, paused
(SIGSTOP) and made read-only under the running service.

Runs when CLIENT_REGISTRY_TEST_POSTGRES_URL is set (the tests' PostgreSQL
is installed then); the cluster is another one, on a free port."""

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

import httpx
import psycopg
import pytest
from passlib.hash import sha256_crypt

from builders import unique_name
from conftest import free_port
from processes import Server, serving
from scraping import scrape, total
from throwaway_postgres import Cluster, throwaway_cluster

pytestmark = pytest.mark.postgresql_only

# Short bounds keep a hung database's tests short (libpq's least connect
# timeout is 2 s).
STATEMENT_TIMEOUT = 2
CONNECT_TIMEOUT = 2
# What "fast" means for an answer the service gives without the database.
PROMPT = 0.5
RECOVERY_SECONDS = 10
FAST_HEALTH = 0.1
STALL = 0.5


@dataclass
class Registry:
    """The served registry, its admin token and one client of it."""

    server: Server
    token: str
    client_id: str
    secret: str

    def http(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=30)

    def log_lines_since(self, offset: int) -> list[str]:
        """The lines logged since `offset`, but for the one access line of
        each request."""
        lines = self.server.stderr[offset:].splitlines()
        return [line for line in lines if "client_registry.access" not in line]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster(free_port()) as made:
        yield made


@pytest.fixture(scope="module")
def registry(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp("outages")
    with serving(
        cluster.url(),
        workdir,
        "serve",
        statement_timeout=STATEMENT_TIMEOUT,
        connect_timeout=CONNECT_TIMEOUT,
    ) as server:
        found = re.search(r"crat_[A-Za-z0-9_\-]+", server.stdout)
        assert found, f"serve printed no admin token: {server.stdout}"
        registry = Registry(server, found.group(), client_id="", secret="")
        with registry.http() as http:
            created = _create(http)
            assert created.status_code == 201, created.text
        registry.client_id = created.json()["id"]
        registry.secret = created.json()["secret"]
        yield registry


# -- the calls ----------------------------------------------------------------


def _create(http: httpx.Client) -> httpx.Response:
    return http.post(
        "/v1/clients", json={"name": unique_name(), "redirect": ["https://ok.example.com/cb"]}
    )


Call = Callable[[httpx.Client, Registry], httpx.Response]
CALLS: dict[str, Call] = {
    "get": lambda http, r: http.get(f"/v1/clients/{r.client_id}"),
    "list": lambda http, r: http.get("/v1/clients", params={"limit": 5}),
    "create": lambda http, r: _create(http),
    "patch": lambda http, r: http.patch(
        f"/v1/clients/{r.client_id}",
        json={"name": unique_name("patched")},
        headers={"Content-Type": "application/merge-patch+json"},
    ),
    "rotate": lambda http, r: http.post(f"/v1/clients/{r.client_id}/rotate-secret", json={}),
    "authenticate": lambda http, r: http.post(
        f"/v1/clients/{r.client_id}/authenticate",
        json={"secret": r.secret, "method": "client_secret_basic"},
    ),
}


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def _assert_unavailable(response: httpx.Response, registry: Registry) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unavailable"
    assert int(response.headers["retry-after"]) >= 1
    assert registry.secret not in response.text
    assert "Traceback" not in response.text


def _wait_until(registry: Registry, name: str, status: int) -> None:
    """Repeats a call until it answers `status`, for RECOVERY_SECONDS at most."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    with registry.http() as http:
        while True:
            response = CALLS[name](http, registry)
            if response.status_code == status:
                return
            assert time.monotonic() < deadline, f"{name} still answers {response.status_code}"
            time.sleep(0.1)


def _assert_working(registry: Registry) -> None:
    _wait_until(registry, "get", 200)
    with registry.http() as http:
        for name, status in (("create", 201), ("authenticate", 200), ("list", 200)):
            response = CALLS[name](http, registry)
            assert response.status_code == status, f"{name}: {response.text}"
        assert http.get("/readyz").status_code == 200


Answer = tuple[str, httpx.Response, float]


def _load(registry: Registry, seconds: float, threads: int) -> list[Answer]:
    """Every call in turn from a few threads for `seconds`: (call, answer, time)."""
    names = ["get", "list", "create", "authenticate", "patch", "rotate"]
    deadline = time.monotonic() + seconds

    def worker() -> list[Answer]:
        answers: list[Answer] = []
        with registry.http() as http:
            while time.monotonic() < deadline:
                for name in names:
                    response, took = _timed(lambda n=name: CALLS[n](http, registry))
                    answers.append((name, response, took))
                time.sleep(0.02)
        return answers

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker) for _ in range(threads)]
        return [answer for future in futures for answer in future.result()]


# Polls /healthz from a process of its own, so the timings are the
# service's and not this process's threads waiting for each other.
_WATCH = """
import sys, threading, time, httpx
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
with httpx.Client(base_url=sys.argv[1], timeout=10) as http:
    while not done.is_set():
        started = time.perf_counter()
        status = http.get("/healthz").status_code
        print(status, time.perf_counter() - started, flush=True)
        done.wait(0.02)
"""


class HealthWatch:
    """Asks /healthz every 20 ms until the block ends: each status and time."""

    def __init__(self, url: str) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _WATCH, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.answers: list[tuple[int, float]] = []

    def __enter__(self) -> "HealthWatch":
        assert self._process.stdout is not None
        self._first = self._process.stdout.readline()  # the watch has begun
        return self

    def __exit__(self, *_: object) -> None:
        output, _ = self._process.communicate("", timeout=30)
        for line in (self._first + output).splitlines():
            status, took = line.split()
            self.answers.append((int(status), float(took)))

    def assert_fast(self) -> None:
        """Answers in milliseconds. A loop blocked on the database would
        hold every probe for a whole bound (2 s here); a single probe that
        waited for a busy CPU is not that, so the slowest few may exceed
        FAST_HEALTH, never STALL."""
        assert len(self.answers) > 10, "the watch hardly ran"
        assert {status for status, _ in self.answers} == {200}
        times = sorted(took for _, took in self.answers)
        typical = times[int(len(times) * 0.95)]
        assert typical < FAST_HEALTH, f"/healthz p95 took {typical:.3f} s"
        assert times[-1] < STALL, f"/healthz took {times[-1]:.3f} s: the loop stalled"


def _assert_quiet_log(lines: list[str], *, failed_at_least: int) -> None:
    """A handful of lines for a whole outage, each a sentence, no traceback,
    and a recovery line that counts every call that failed."""
    text = "\n".join(lines)
    assert "Traceback" not in text, text
    assert len(lines) <= 6, text
    assert any("database failure (" in line for line in lines), text
    counts = [int(n) for n in re.findall(r"database available again after (\d+) failed", text)]
    assert counts, text
    assert sum(counts) >= failed_at_least, text


# -- the tests ----------------------------------------------------------------


def test_a_stopped_database_is_a_prompt_503_and_the_service_comes_back(
    cluster: Cluster, registry: Registry
) -> None:
    _assert_working(registry)
    log_offset = len(registry.server.stderr)
    cluster.stop()
    try:
        with HealthWatch(registry.server.url) as health:
            answers = _load(registry, seconds=3, threads=2)
            with registry.http() as http:
                ready, ready_took = _timed(lambda: http.get("/readyz"))
    finally:
        cluster.start()

    assert len(answers) > 50, "the load hardly ran"
    for name, response, took in answers:
        _assert_unavailable(response, registry)
        assert took < PROMPT, f"{name} took {took:.3f} s to say 503"
    assert ready.status_code == 503
    assert ready.json()["code"] == "unavailable"
    assert ready_took < PROMPT
    health.assert_fast()

    # Back without a restart: the same process serves again.
    _assert_working(registry)
    _assert_quiet_log(registry.log_lines_since(log_offset), failed_at_least=len(answers))


def test_a_hung_database_is_bounded_and_the_loop_stays_free(
    cluster: Cluster, registry: Registry
) -> None:
    _assert_working(registry)
    log_offset = len(registry.server.stderr)
    bound = STATEMENT_TIMEOUT + 2
    with HealthWatch(registry.server.url) as health:
        with cluster.paused(), ThreadPoolExecutor(4) as pool:
            # A pooled connection's query waits on the silent server; a new
            # connection waits on its handshake. Both are bounded.
            calls = {
                name: pool.submit(_timed_call, registry, name)
                for name in ("get", "create", "authenticate")
            }
            with registry.http() as http:
                ready, ready_took = _timed(lambda: http.get("/readyz"))
            # Once a call has waited out its bound, the database is not asked
            # again for a second: the next caller is told at once.
            wait(calls.values(), return_when=FIRST_COMPLETED)
            again, again_took = _timed_call(registry, "get")
            answers = {name: future.result() for name, future in calls.items()}
        _assert_working(registry)

    assert ready.status_code == 503
    assert ready_took < 2, f"/readyz took {ready_took:.2f} s"
    for name, (response, took) in answers.items():
        _assert_unavailable(response, registry)
        assert took < bound, f"{name} took {took:.2f} s"
    _assert_unavailable(again, registry)
    assert again_took < PROMPT, f"the call after a hang took {again_took:.2f} s"
    health.assert_fast()
    _assert_quiet_log(registry.log_lines_since(log_offset), failed_at_least=len(answers) + 1)


def _timed_call(registry: Registry, name: str) -> tuple[httpx.Response, float]:
    with registry.http() as http:
        return _timed(lambda: CALLS[name](http, registry))


def test_a_read_only_database_refuses_writes_with_503_and_still_reads(
    cluster: Cluster, registry: Registry
) -> None:
    _assert_working(registry)
    cluster.execute("ALTER SYSTEM SET default_transaction_read_only = on")
    cluster.execute("SELECT pg_reload_conf()")
    try:
        _wait_until(registry, "create", 503)
        with registry.http() as http:
            refused = {name: CALLS[name](http, registry) for name in ("create", "patch", "rotate")}
            served = {name: CALLS[name](http, registry) for name in ("get", "authenticate", "list")}
    finally:
        cluster.execute("ALTER SYSTEM RESET default_transaction_read_only")
        cluster.execute("SELECT pg_reload_conf()")

    for response in refused.values():
        _assert_unavailable(response, registry)
    for name, response in served.items():
        assert response.status_code == 200, f"{name}: {response.text}"

    _wait_until(registry, "create", 201)
    with registry.http() as http:
        assert CALLS["patch"](http, registry).status_code == 200
        rotated = CALLS["rotate"](http, registry)
        assert rotated.status_code == 200, rotated.text
    registry.secret = rotated.json()["secret"]
    _assert_working(registry)


def test_a_hash_upgrade_the_database_refuses_is_not_counted_and_comes_later(
    cluster: Cluster, registry: Registry
) -> None:
    """A stronger hash is stored at a successful authentication, as upkeep:
    a read-only database refuses it and the client passes all the same. The
    counter counts upgrades stored, so it counts this one when it is."""
    _assert_working(registry)
    legacy = sha256_crypt.using(rounds=5_000).hash(registry.secret)
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(
            "UPDATE clients SET secret_hash = %s WHERE id = %s", (legacy, registry.client_id)
        )
    before = _hash_upgrades(registry)
    cluster.execute("ALTER SYSTEM SET default_transaction_read_only = on")
    cluster.execute("SELECT pg_reload_conf()")
    try:
        _wait_until(registry, "create", 503)
        with registry.http() as http:
            passed = [CALLS["authenticate"](http, registry) for _ in range(2)]
        refused = _hash_upgrades(registry)
    finally:
        cluster.execute("ALTER SYSTEM RESET default_transaction_read_only")
        cluster.execute("SELECT pg_reload_conf()")

    assert [response.status_code for response in passed] == [200, 200]
    assert refused == before
    _wait_until(registry, "create", 201)
    with registry.http() as http:
        for _ in range(2):
            assert CALLS["authenticate"](http, registry).status_code == 200
    assert _hash_upgrades(registry) == before + 1


def _hash_upgrades(registry: Registry) -> float:
    with registry.http() as http:
        return total(scrape(http), "client_registry_secret_hash_upgrades_total")
