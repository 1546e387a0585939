"""People: add, change password, disable; check a login with the lock-out; find a session's
person. The one place that reads and writes the `users` table."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.models import utcnow
from crm.people.errors import InvalidPerson, PersonExists, UnknownPerson
from crm.people.models import PersonRole, User
from crm.people.passwords import hash_password, needs_rehash, password_problem, verify_password

LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MEMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")
# An audit record names a person by login; a login must never read as a token's role.
RESERVED_LOGINS = frozenset({"agent", "supervisor", "service", "system", "worker", "ivr"})
LANGUAGES = ("ru", "en")


@dataclass(frozen=True)
class Person:
    """What a request knows of its logged-in person."""

    id: int
    login: str
    full_name: str
    role: str  # "agent" | "supervisor"
    agent_member: str  # the agent's queue member name; "" for supervisors
    language: str | None


def _person(user: User) -> Person:
    return Person(
        id=user.id,
        login=user.login,
        full_name=user.full_name,
        role=user.role,
        agent_member=user.agent_member or "",
        language=user.language,
    )


def check_login_name(login: str) -> str:
    if not LOGIN.fullmatch(login):
        raise InvalidPerson(
            f"login {login!r}: use 1-64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if login in RESERVED_LOGINS:
        raise InvalidPerson(f"login {login!r} is reserved (it reads as a role)")
    return login


def _check_password(password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise InvalidPerson(problem)


class PeopleService:
    """People over SQL. Argon2 runs in a worker thread: it takes tens of milliseconds."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_failures: int = 5,
        lockout: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.max_failures = max_failures
        self.lockout = lockout
        self.clock = clock

    async def add_person(
        self,
        login: str,
        password: str,
        role: str,
        *,
        full_name: str = "",
        agent_member: str = "",
    ) -> Person:
        """Create a person; an agent needs its queue member name, a supervisor has none."""
        check_login_name(login)
        if role not in PersonRole.__members__:
            raise InvalidPerson(f"role {role!r}: expected agent or supervisor")
        if role == PersonRole.agent and not agent_member:
            raise InvalidPerson("an agent needs its queue member name (--agent agent01)")
        if role == PersonRole.supervisor and agent_member:
            raise InvalidPerson("a supervisor has no queue member name")
        if agent_member and not MEMBER.fullmatch(agent_member):
            raise InvalidPerson(
                f"agent member {agent_member!r}: letters, digits, '_' and '-' (e.g. agent01)"
            )
        full_name = full_name.strip()
        if len(full_name) > 200 or any(ord(c) < 32 for c in full_name):
            raise InvalidPerson("the full name must be one line of at most 200 characters")
        _check_password(password)
        password_hash = await asyncio.to_thread(hash_password, password)
        now = self.clock()
        user = User(
            login=login,
            full_name=full_name,
            role=role,
            agent_member=agent_member or None,
            password_hash=password_hash,
            disabled=False,
            failed_logins=0,
            sessions_after=now,
            created_at=now,
        )
        async with self.sessions() as session:
            session.add(user)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                taken = await session.scalar(
                    select(User.login).where(
                        (User.login == login) | (User.agent_member == (agent_member or None))
                    )
                )
                if taken == login:
                    raise PersonExists(f"login {login!r} exists already") from None
                raise PersonExists(
                    f"agent member {agent_member!r} belongs to {taken!r} already"
                ) from None
        return _person(user)

    async def ensure_person(
        self,
        login: str,
        password: str,
        role: str,
        *,
        full_name: str = "",
        agent_member: str = "",
    ) -> Person:
        """The person `login` with this password, created if absent (the demo prints a
        supervisor's and an agent's login it can rely on, on a kept database too)."""
        if await self.find(login) is None:
            try:
                return await self.add_person(
                    login, password, role, full_name=full_name, agent_member=agent_member
                )
            except PersonExists:
                pass  # created meanwhile by another process
        await self.set_password(login, password)
        async with self.sessions() as session:
            user = await self._get(session, login)
            user.disabled = False
            await session.commit()
            return _person(user)

    async def set_password(self, login: str, password: str) -> None:
        """A new password; every session signed before it is void, the lock-out lifted."""
        _check_password(password)
        password_hash = await asyncio.to_thread(hash_password, password)
        async with self.sessions() as session:
            user = await self._get(session, login)
            user.password_hash = password_hash
            user.failed_logins = 0
            user.locked_until = None
            user.sessions_after = self.clock()
            await session.commit()

    async def disable(self, login: str) -> None:
        """The person can no longer log in; their open sessions end at their next request."""
        async with self.sessions() as session:
            user = await self._get(session, login)
            user.disabled = True
            user.sessions_after = self.clock()
            await session.commit()

    async def set_language(self, person_id: int, language: str) -> None:
        if language not in LANGUAGES:
            raise InvalidPerson(f"language {language!r}: expected one of {', '.join(LANGUAGES)}")
        async with self.sessions() as session:
            user = await session.get(User, person_id)
            if user is not None:
                user.language = language
                await session.commit()

    async def authenticate(self, login: str, password: str) -> Person | None:
        """The person whose login and password these are, or None for any failure: unknown
        login, wrong password, disabled, locked. A wrong password counts; the
        `max_failures`-th failure in a row locks the login for `lockout`."""
        async with self.sessions() as session:
            user = await session.scalar(select(User).where(User.login == login.strip().lower()))
            ok = await asyncio.to_thread(
                verify_password, user.password_hash if user else None, password
            )
            if user is None:
                return None
            now = self.clock()
            locked = user.locked_until is not None and user.locked_until > now
            if ok and not locked and not user.disabled:
                user.failed_logins = 0
                user.locked_until = None
                if needs_rehash(user.password_hash):
                    user.password_hash = await asyncio.to_thread(hash_password, password)
                await session.commit()
                return _person(user)
            if not user.disabled:
                user.failed_logins += 1
                if user.failed_logins >= self.max_failures:
                    user.locked_until = now + self.lockout
                    user.failed_logins = 0
                await session.commit()
            return None

    async def session_person(self, person_id: int, signed_at: datetime) -> Person | None:
        """The enabled person of a session signed at `signed_at`, or None if it is void."""
        async with self.sessions() as session:
            user = await session.get(User, person_id)
        if user is None or user.disabled or signed_at < user.sessions_after:
            return None
        return _person(user)

    async def find(self, login: str) -> User | None:
        async with self.sessions() as session:
            return await session.scalar(select(User).where(User.login == login))

    @staticmethod
    async def _get(session: AsyncSession, login: str) -> User:
        user = await session.scalar(select(User).where(User.login == login))
        if user is None:
            raise UnknownPerson(f"nobody has the login {login!r}")
        return user
