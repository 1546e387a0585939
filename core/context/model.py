"""The call context: one model of what the next specialist must be told, the memo's filed
fields, the screen pop built from it, and its mapping to and from the CRM's SQL copy."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.inn import validate_inn
from core.text import PlainTextModel

# The memo's fields: what an agent files about the call before transferring it.
MEMO_FIELDS = ("summary", "caller_full_name", "org_inn")
# What travels with a transfer (its record's `context`): the memo and the UIN.
TRANSFER_MEMO = (*MEMO_FIELDS, "uin")


class ContextFields(PlainTextModel):
    """The memo's context of a call: what the next specialist must be told."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    summary: str = Field(min_length=1, max_length=2000)
    caller_full_name: str = Field(min_length=1, max_length=200)
    org_inn: str

    @field_validator("org_inn")
    @classmethod
    def _inn(cls, value: str) -> str:
        return validate_inn(value)

    def memo(self) -> dict[str, str]:
        """The filed fields alone (a body that extends this one carries more)."""
        return self.model_dump(include=set(MEMO_FIELDS))


class ContextRow(Protocol):
    """The CRM's SQL copy of a call context (`crm.models.CallContext`), as seen from here."""

    uin: str | None
    ticket_id: int | None
    caller_full_name: str | None
    org_inn: str | None
    summary: str | None
    transfer_count: int
    transfers_refused: int
    chain: list[Any] | None


class CallContext(BaseModel):
    """A call's context: Redis holds the live one (`core.context.store`), the CRM a copy.

    >>> CallContext(uin="00001234", summary="VAT").memo()
    {'summary': 'VAT', 'uin': '00001234'}
    """

    model_config = ConfigDict(frozen=True)
    uin: str = ""
    ticket_id: str = ""
    caller_full_name: str = ""
    org_inn: str = ""
    summary: str = ""
    agent: str = ""  # who has the caller now
    # The caller's number and name as Asterisk gives them (`started`, `ticketed`: the
    # later known value, `core.caller_id`), for the screen pop; the memo's is
    # `caller_full_name`.
    caller_num: str = ""
    caller_name: str = ""
    count: int = 0  # transfers counted
    refused: int = 0  # tries turned down at the limit
    chain: list[dict[str, Any]] = Field(default_factory=list)  # {n, from, to, to_agent, how}

    def memo(self) -> dict[str, str]:
        """What travels with a transfer: the memo's fields and the UIN, those known."""
        return {k: str(getattr(self, k)) for k in TRANSFER_MEMO if getattr(self, k)}

    def transfers_left(self, limit: int) -> int:
        """Transfers still allowed under `limit`."""
        return max(limit - self.count, 0)

    def with_known(self, **fields: str) -> CallContext:
        """This context with `fields` set; empty values never erase what is known (as
        `CallContextStore.update` does in Redis)."""
        known = {k: v for k, v in fields.items() if v}
        return self.model_copy(update=known) if known else self

    def screen_pop(self, linkedid: str, limit: int, **extra: Any) -> dict[str, Any]:
        """The screen pop of this context (`extra`: the queue, or a transfer's n and from)."""
        return {
            "linkedid": linkedid,
            "uin": self.uin,
            "ticket_id": self.ticket_id,
            "caller_num": self.caller_num,
            "caller_name": self.caller_name,
            "caller_full_name": self.caller_full_name,
            "org_inn": self.org_inn,
            "summary": self.summary,
            "transfers": self.count,
            "limit": limit,
            "chain": self.chain,
            **extra,
        }

    @classmethod
    def from_row(cls, row: ContextRow) -> CallContext:
        """The CRM's copy read back, for when the live context has expired (`agent` is
        not copied: whoever had the caller then has them no more)."""
        return cls(
            uin=row.uin or "",
            ticket_id="" if row.ticket_id is None else str(row.ticket_id),
            caller_full_name=row.caller_full_name or "",
            org_inn=row.org_inn or "",
            summary=row.summary or "",
            count=row.transfer_count,
            refused=row.transfers_refused,
            chain=row.chain or [],
        )

    def copy_onto(self, row: ContextRow) -> None:
        """Write this context onto the CRM's copy: known fields only, counts never back.

        `transfers_refused` is Redis's figure as of this copy: a phone try the route
        refuses after its BlindTransfer event was recorded reaches the copy with the next
        change only (Redis holds the live count for a day)."""
        row.uin = self.uin or row.uin
        row.ticket_id = int(self.ticket_id) if self.ticket_id.isdigit() else row.ticket_id
        row.caller_full_name = self.caller_full_name or row.caller_full_name
        row.org_inn = self.org_inn or row.org_inn
        row.summary = self.summary or row.summary
        row.transfer_count = max(row.transfer_count or 0, self.count)
        row.transfers_refused = max(row.transfers_refused or 0, self.refused)
        row.chain = list(self.chain)


def is_missing(memo: dict[str, Any] | None) -> bool:
    """The memo's context: summary, caller's full name, organisation INN (and the UIN)."""
    memo = memo or {}
    return not all(memo.get(k) for k in MEMO_FIELDS)
