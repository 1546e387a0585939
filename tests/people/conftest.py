"""Fixtures for people and login: the CRM app on both databases with a fixed session
secret and a lock-out after 3 failures, a clock the test moves, a way to add people."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from core.settings import Settings, WebSettings
from crm.people.service import PeopleService, Person
from hotline.bootstrap import create_app

SECRET = "a-test-session-secret-0123456789abcdef"
PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Site:
    app: FastAPI
    http: httpx.AsyncClient
    clock: Clock

    @property
    def people(self) -> PeopleService:
        return self.app.state.people

    async def add(self, login: str, role: str = "supervisor", agent: str = "") -> Person:
        return await self.people.add_person(
            login, PASSWORD, role, full_name=f"{login.title()} Person", agent_member=agent
        )

    async def csrf(self, path: str = "/login") -> str:
        page = await self.http.get(path)
        found = CSRF_FIELD.search(page.text)
        assert found, page.text
        return found.group(1)

    async def login(self, login: str, password: str = PASSWORD, **form: str) -> httpx.Response:
        token = await self.csrf()
        return await self.http.post(
            "/login",
            data={"username": login, "password": password, "csrf_token": token, **form},
        )


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    settings.web = WebSettings(session_secret=SECRET, login_max_failures=3, login_lockout_s=600)
    return settings


@pytest.fixture
async def site(web_settings: Settings) -> AsyncIterator[Site]:
    clock = Clock()
    app = create_app(web_settings, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
            yield Site(app, http, clock)
