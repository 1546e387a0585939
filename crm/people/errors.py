"""What can go wrong with people (no HTTP here: the CLI and the pages say it their way)."""

from __future__ import annotations


class PeopleError(Exception):
    """Base of the people's errors; the message says what is wrong."""


class InvalidPerson(PeopleError):
    """A login, role, agent member or password that cannot be accepted."""


class PersonExists(PeopleError):
    """The login (or the agent member) belongs to somebody already."""


class UnknownPerson(PeopleError):
    """No person has this login."""
