"""The API's shapes: a schema family per entity (Create, Update, Public)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from core.text import PlainTextModel
from crm.models import CallOutcome, Category, Channel, OverrideKind, RefusalReason, Status
from crm.sla.events import SuspendReason
from crm.validation import validate_inn

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_email(value: str) -> str:
    """A plausible address (local@domain.tld), domain lower-cased; not a deliverability check."""
    local, _, domain = value.rpartition("@")
    if not _EMAIL.match(value) or len(value) > 254 or len(local) > 64:
        raise ValueError(f"{value!r} is not an e-mail address like name@example.ru")
    return f"{local}@{domain.lower()}"


Inn = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=12), AfterValidator(validate_inn)
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
OrgName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
Priority = Annotated[int, Field(ge=1, le=4)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(validate_email)
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)]
UinRef = Annotated[str, StringConstraints(pattern=r"^\d{1,20}$")]
Linkedid = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._-]+$"
    ),
]


class TicketCreate(PlainTextModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel = Channel.phone
    caller_phone: Phone | None = None
    caller_name: Name | None = None
    org_name: OrgName | None = None
    org_inn: Inn | None = None
    # Primary classification at registration; the agent refines it with the caller.
    category: Category = Category.consultation
    priority: Priority = 3
    summary: Summary | None = None
    description: Description | None = None
    caller_email: Email | None = None
    agreed_deadline: AwareDatetime | None = None  # priority 4 only


class TicketUpdate(PlainTextModel):
    model_config = ConfigDict(extra="forbid")
    caller_phone: Phone | None = None
    caller_name: Name | None = None
    org_name: OrgName | None = None
    org_inn: Inn | None = None
    category: Category | None = None
    priority: Priority | None = None
    agreed_deadline: AwareDatetime | None = None  # priority 4 only
    status: Status | None = None
    summary: Summary | None = None
    description: Description | None = None
    duplicate_of: UinRef | None = None
    caller_email: Email | None = None


class TicketWithdraw(BaseModel):
    """`POST /api/tickets/{uin}/withdraw`: the caller named their existing request `into`."""

    model_config = ConfigDict(extra="forbid")
    into: UinRef
    reason: Note = "the caller gave an existing request number in the IVR"


class TicketPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    uin: str
    channel: Channel
    caller_phone: str | None
    caller_name: str | None
    org_name: str | None
    org_inn: str | None
    category: Category
    priority: int
    status: Status
    summary: str | None
    description: str | None
    duplicate_of: str | None = None
    withdrawn_into: str | None = None  # status withdrawn: the request its call went to
    caller_email: str | None = None
    line: int = 1
    agreed_deadline: datetime | None = None
    solution: str | None = None
    resolved_at: datetime | None = None
    confirmed_at: datetime | None = None
    refusal_reason: RefusalReason | None = None
    created_at: datetime
    updated_at: datetime


class TicketPage(BaseModel):
    items: list[TicketPublic]
    total: int
    page: int
    page_size: int


class CallAttach(PlainTextModel):
    model_config = ConfigDict(extra="forbid")
    linkedid: Linkedid
    caller_number: Annotated[str, StringConstraints(max_length=40)] | None = None
    caller_name: Name | None = None
    started_at: AwareDatetime | None = None
    queue: Annotated[str, StringConstraints(max_length=80)] | None = None
    outcome: CallOutcome | None = None


class CallPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    linkedid: str
    uin: str | None
    caller_number: str | None
    caller_name: str | None
    started_at: datetime | None
    queue: str | None
    queued_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    wait_s: float | None
    agent: str | None  # who had the caller last
    agents: list[str] = []  # every agent the call reached, in order
    outcome: CallOutcome
    transfer_count: int
    talk_s: float | None = None
    hung_up_by: str | None = None
    solved: bool | None = None  # the caller's survey answers
    score: int | None = None
    uins: list[str] = []  # every ticket opened in the call, first one first


class TicketEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    actor: str
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    data: dict[str, Any] | None = None  # what the step carried: reason, note, solution...


class UinReserve(PlainTextModel):
    model_config = ConfigDict(extra="forbid")
    count: Annotated[int, Field(ge=1, le=1000)] = 100


class UinBlock(BaseModel):
    uins: list[str]


class SuspendRequest(PlainTextModel):
    model_config = ConfigDict(extra="forbid")
    reason: SuspendReason
    note: Note | None = None
    external_ref: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None
    ) = None  # required for external_system: the vendor's ticket number


class ResolveRequest(PlainTextModel):
    model_config = ConfigDict(extra="forbid")
    solution: Text


class RefuseRequest(PlainTextModel):
    model_config = ConfigDict(extra="forbid")
    reason: RefusalReason
    note: Note | None = None
    duplicate_of: UinRef | None = None  # required for duplicate


class InfoRequest(PlainTextModel):
    model_config = ConfigDict(extra="forbid")
    question: Text


class CallerReplied(PlainTextModel):
    model_config = ConfigDict(extra="forbid")
    note: Note | None = None


class ConfirmedWithCaller(PlainTextModel):
    """The caller agreed (on the phone, say) that the solution works: how, in `note`."""

    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000)]


class SlaPublic(BaseModel):
    """The SLA clock of a ticket now, in business seconds (derived from its audit log)."""

    deadline: datetime | None
    allowance_s: float | None
    elapsed_s: float
    remaining_s: float | None
    paused: bool
    breached: bool
    used_share: float | None


class AtRiskTicket(BaseModel):
    uin: str
    status: Status
    category: Category
    priority: int
    line: int
    sla: SlaPublic


class OverrideRequest(PlainTextModel):
    model_config = ConfigDict(extra="forbid")
    kind: OverrideKind
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None


class OverridePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    day: date
    kind: OverrideKind
    note: str | None
    updated_at: datetime
    updated_by: str


class Confirmation(BaseModel):
    uin: str
    status: Status
    confirmed_at: datetime | None
