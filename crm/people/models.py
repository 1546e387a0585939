"""SQL model of people: one row per agent or supervisor who logs in to the pages."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models import Base, utcnow


class PersonRole(enum.StrEnum):
    agent = "agent"
    supervisor = "supervisor"


class User(Base):
    """A person. `agent_member` is an agent's queue member name (its device, `agent01`):
    the same name an `agent/NAME:token` token carries, so a logged-in agent sees and
    acts on its own calls only. `sessions_after`: sessions signed earlier are void
    (set when the password changes or the person is disabled)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    agent_member: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    sessions_after: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
