"""`hotline users add|passwd|disable`: passwords from standard input only."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crm.db import make_engine, make_sessionmaker
from crm.migrate import upgrade
from crm.people.service import PeopleService, Person
from hotline.cli import app

HOTLINE = str(Path(sys.executable).with_name("hotline"))


async def _check(url: str, login: str, password: str) -> Person | None:
    engine = make_engine(url)
    try:
        return await PeopleService(make_sessionmaker(engine)).authenticate(login, password)
    finally:
        await engine.dispose()


def check(url: str, login: str, password: str) -> Person | None:
    return asyncio.run(_check(url, login, password))


@pytest.fixture
def users(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str, stdin: str = ""):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["users", *args], input=stdin)

    return run


def test_add_reads_the_password_from_stdin(users, database_url: str) -> None:  # type: ignore[no-untyped-def]
    added = users(
        "add",
        "ivanov",
        "--role",
        "agent",
        "--agent",
        "agent05",
        "--full-name",
        "Иван Иванов",
        stdin="s3cret-password\n",
    )
    assert added.exit_code == 0, added.output
    assert "added ivanov (agent, agent agent05)" in added.output
    person = check(database_url, "ivanov", "s3cret-password")
    assert person is not None
    assert (person.role, person.agent_member, person.full_name) == (
        "agent",
        "agent05",
        "Иван Иванов",
    )
    assert check(database_url, "ivanov", "s3cret-password\n") is None, "the newline is not in it"


def test_there_is_no_way_to_give_the_password_on_the_command_line(users) -> None:  # type: ignore[no-untyped-def]
    result = users("add", "petrova", "--role", "supervisor", "--password", "s3cret-password")
    assert result.exit_code == 2
    assert "No such option" in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add", "x", "--role", "boss"], "s3cret-password\n", "expected agent or supervisor"),
        (["add", "x", "--role", "agent"], "s3cret-password\n", "needs its queue member"),
        (["add", "Bad Login", "--role", "supervisor"], "s3cret-password\n", "lower-case"),
        (["add", "service", "--role", "supervisor"], "s3cret-password\n", "reserved"),
        (["add", "x", "--role", "supervisor"], "short\n", "at least 8"),
        (["add", "x", "--role", "supervisor"], "", "no password on standard input"),
        (["passwd", "nobody"], "s3cret-password\n", "nobody has the login"),
        (["disable", "nobody"], "", "nobody has the login"),
    ],
)
def test_bad_input_is_refused_with_the_reason(users, args, stdin, message) -> None:  # type: ignore[no-untyped-def]
    result = users(*args, stdin=stdin)
    assert result.exit_code == 2
    assert message in result.output


def test_passwd_and_disable(users, database_url: str) -> None:  # type: ignore[no-untyped-def]
    assert users("add", "sokolov", "--role", "supervisor", stdin="first-password\n").exit_code == 0
    again = users("add", "sokolov", "--role", "supervisor", stdin="first-password\n")
    assert again.exit_code == 2 and "exists already" in again.output
    assert users("passwd", "sokolov", stdin="second-password\n").exit_code == 0
    assert check(database_url, "sokolov", "first-password") is None
    assert check(database_url, "sokolov", "second-password") is not None
    assert users("disable", "sokolov").exit_code == 0
    assert check(database_url, "sokolov", "second-password") is None


def _on_a_terminal(
    args: list[str], answers: list[tuple[bytes, bytes]], env: dict[str, str]
) -> tuple[str, int]:
    """Run `hotline ARGS` on a pseudo-terminal, typing each answer after its prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal is its controlling tty
        try:
            os.execve(HOTLINE, [HOTLINE, *args], env)
        finally:
            os._exit(127)  # never go on running the tests in the child
    out = b""
    deadline = time.monotonic() + 60

    def read_until(marker: bytes | None) -> None:
        nonlocal out
        while (marker is None or marker not in out) and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child exited and closed the terminal
                return
            if not chunk:
                return
            out += chunk

    for prompt, answer in answers:  # each prompt appears only once the last is answered
        read_until(prompt)
        os.write(fd, answer)
    read_until(None)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return out.decode(errors="replace"), os.waitstatus_to_exitcode(status)


def test_on_a_terminal_the_password_is_asked_twice_and_not_echoed(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    upgrade(url)
    env = {**os.environ, "HOTLINE_DATABASE_URL": url}
    args = ["users", "add", "tty-user", "--role", "supervisor"]
    first, again = b"Password: ", b"Password again: "
    answers = [(first, b"typed-password-1\n"), (again, b"typed-password-2\n")]
    output, code = _on_a_terminal(args, answers, env)
    assert code == 2 and "the two passwords differ" in output
    answers = [(first, b"typed-password-1\n"), (again, b"typed-password-1\n")]
    output, code = _on_a_terminal(args, answers, env)
    assert code == 0, output
    assert "Password:" in output and "Password again:" in output
    assert "typed-password" not in output, "never echoed"
    assert check(url, "tty-user", "typed-password-1") is not None
