"""`hotline users add|passwd|disable`: the people who log in to the pages.

Passwords are read from standard input (a prompt, asked twice, when it is a terminal),
never from the command line, where `ps` and the shell's history would show them."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from core.settings import Settings

if TYPE_CHECKING:
    from crm.people.service import PeopleService

users_app = typer.Typer(
    help="People who log in to the pages (agents, supervisors).", no_args_is_help=True
)
T = TypeVar("T")


def read_password(prompt: str = "Password") -> str:
    """The password from a terminal (asked twice) or the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"{prompt}: ")
        if getpass.getpass(f"{prompt} again: ") != first:
            _fail("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        _fail("no password on standard input (pipe it in, or run in a terminal)")
    return line.rstrip("\r\n")


def _fail(message: str) -> None:
    typer.echo(f"hotline users: {message}", err=True)
    raise typer.Exit(2)


def _run(work: Callable[[PeopleService], Awaitable[T]]) -> T:
    # Imported here: `hotline --help` and the other commands do not load SQLAlchemy.
    from crm.db import make_engine, make_sessionmaker
    from crm.people.errors import PeopleError
    from crm.people.service import PeopleService

    try:
        settings = Settings()
    except ValueError as exc:
        typer.echo(f"hotline: bad settings: {exc}", err=True)
        raise typer.Exit(2) from None

    async def main() -> T:
        engine = make_engine(settings.db.url)
        try:
            return await work(PeopleService(make_sessionmaker(engine)))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except PeopleError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


@users_app.command("add")
def add(
    login: Annotated[str, typer.Argument(help="the login (lower case: letters, digits, . _ -)")],
    role: Annotated[str, typer.Option(help="agent or supervisor")],
    agent: Annotated[
        str, typer.Option("--agent", help="an agent's queue member name / device (agent01)")
    ] = "",
    full_name: Annotated[str, typer.Option("--full-name", help="the person's full name")] = "",
) -> None:
    """Add a person; the password is read from standard input."""
    password = read_password()
    person = _run(
        lambda people: people.add_person(
            login, password, role, full_name=full_name, agent_member=agent
        )
    )
    member = f", agent {person.agent_member}" if person.agent_member else ""
    typer.echo(f"added {person.login} ({person.role}{member})")


@users_app.command("passwd")
def passwd(login: Annotated[str, typer.Argument(help="the person's login")]) -> None:
    """Set a new password (read from standard input); their open sessions end."""
    password = read_password("New password")
    _run(lambda people: people.set_password(login, password))
    typer.echo(f"password of {login} changed")


@users_app.command("disable")
def disable(login: Annotated[str, typer.Argument(help="the person's login")]) -> None:
    """Stop a person from logging in; their open sessions end."""
    _run(lambda people: people.disable(login))
    typer.echo(f"{login} disabled")
