"""The command when it cannot work (API.md section 5): a database it cannot
use is exit status 1 and one line with the URL (password as ***) and the
driver's reason; a setting it cannot parse is exit status 2 and one line
naming the variable. Never a traceback, never the password.

The commands of a test run at once, as subprocesses, to keep it short."""

import secrets
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import make_url

from conftest import POSTGRES_URL, free_port
from processes import finish, start

PASSWORD = "hunter2"
COMMANDS = [
    ("migrate",),
    ("serve", "--host", "127.0.0.1", "--port", "0"),
    ("token", "list"),
]


def _tests_server(**changes: str) -> str:
    """The tests' PostgreSQL server, as another user or database, with a password."""
    assert POSTGRES_URL is not None
    url = make_url(POSTGRES_URL).set(drivername="postgresql", password=PASSWORD)
    return url.set(**changes).render_as_string(hide_password=False)


def _run_all(urls: dict[str, str], workdir: Path) -> dict[tuple[str, str], "Result"]:
    """Every command on every URL, all at once: {(case, command): result}."""
    processes = {
        (case, " ".join(command[:2])): start(url, workdir, *command)
        for case, url in urls.items()
        for command in COMMANDS
    }
    return {key: Result(finish(process)) for key, process in processes.items()}


class Result:
    def __init__(self, completed: subprocess.CompletedProcess[str]) -> None:
        self.status = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    def only_line(self) -> str:
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stderr.splitlines()
        assert len(lines) == 1, f"expected one line: {self.stderr!r}"
        assert self.stdout == "", self.stdout
        return lines[0]


def _cases(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """case: (URL, a word of the reason the driver gives)."""
    cases = {
        "refused": (f"postgresql://u:{PASSWORD}@127.0.0.1:{free_port()}/db", "refused"),
        "unknown host": (f"postgresql://u:{PASSWORD}@no-such-host.invalid/db", "resolve"),
        "no folder": (f"sqlite:///{tmp_path / 'no-such-folder' / 'registry.db'}", "open"),
    }
    if POSTGRES_URL:
        missing = f"no_such_database_{secrets.token_hex(4)}"
        cases["no database"] = (_tests_server(database=missing), missing)
        role = f"no_such_role_{secrets.token_hex(4)}"
        cases["no role"] = (_tests_server(username=role), role)
    return cases


def test_a_database_that_cannot_be_used_is_one_line_and_status_1(tmp_path: Path) -> None:
    cases = _cases(tmp_path)
    results = _run_all({case: url for case, (url, _) in cases.items()}, tmp_path)

    reasons: dict[str, set[str]] = {}
    for (case, command), result in results.items():
        url, word = cases[case]
        shown = url.replace(PASSWORD, "***")
        assert result.status == 1, f"{case}, {command}: {result.status} {result.stderr}"
        line = result.only_line()
        prefix = f"client-registry: cannot use the database at {shown}: "
        assert line.startswith(prefix), f"{case}, {command}: {line}"
        assert PASSWORD not in result.stdout + result.stderr
        reason = line.removeprefix(prefix)
        assert word in reason.lower(), f"{case}, {command}: {reason}"
        assert "migrate" not in reason, f"{case}, {command}: wrong advice: {reason}"
        reasons.setdefault(command, set()).add(reason)
    for command, said in reasons.items():
        assert len(said) == len(cases), f"{command} gives the same reason twice: {said}"
    assert not (tmp_path / "no-such-folder").exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOG_LEVEL", "loud"),
        ("POOL_SIZE", "abc"),
        ("DATABASE_URL", "nonsense"),
    ],
)
def test_a_setting_that_cannot_be_parsed_is_one_line_naming_it_and_status_2(
    tmp_path: Path, variable: str, value: str
) -> None:
    database = tmp_path / "registry.db"
    url = value if variable == "DATABASE_URL" else f"sqlite:///{database}"
    settings = {} if variable == "DATABASE_URL" else {variable.lower(): value}
    processes = {command: start(url, tmp_path, *command, **settings) for command in COMMANDS}

    for command, process in processes.items():
        result = Result(finish(process))
        assert result.status == 2, f"{command}: {result.status} {result.stderr}"
        line = result.only_line()
        name = f"CLIENT_REGISTRY_{variable}"
        assert line.startswith(f"client-registry: {name}: "), f"{command}: {line}"
        assert len(line) > len(f"client-registry: {name}: ") + 10, "it says not what it accepts"
    assert not database.exists(), "a command went on to open the database"
