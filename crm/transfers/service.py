"""Transfers asked for over the API: checks, the slot, the AMI action, the record."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.ami import actions as ami
from core.ami.manager import AmiError
from core.context.model import CallContext
from core.context.notifier import AgentNotifier
from core.context.store import CallContextStore, Reservation
from core.keys import RedisKeys
from core.settings import TransferSettings, parse_targets
from crm.errors import CallNotFound
from crm.models import Call, Ticket, Transfer
from crm.models import CallContext as ContextCopy
from crm.transfers.errors import (
    NotOnCall,
    TransferLimitReached,
    TransferNotMade,
    UnknownTarget,
)
from crm.transfers.ledger import call_id_of, copy_context, write_transfer
from crm.transfers.schemas import (
    CallContextPublic,
    ContextFields,
    TransferAccepted,
    TransferCreate,
    TransferPublic,
)

log = logging.getLogger(__name__)


class TransferService:
    """`transfer()` for `POST /api/calls/{linkedid}/transfers`; `chain()` for the ticket."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        keys: RedisKeys,
        settings: TransferSettings,
        send_action: ami.SendAction | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._redis = redis
        self._keys = keys
        self.settings = settings
        self.store = CallContextStore(
            redis, keys, limit=settings.limit, reservation_ttl_s=settings.reservation_s
        )
        self.notifier = AgentNotifier(redis, keys)
        self._send = send_action
        self._clock = clock
        self.targets = parse_targets(settings.targets)

    def resolve(self, to: str) -> tuple[str, str, str]:
        """(extension, kind, name) of an extension, an agent's or a queue's name."""
        if to in self.targets:
            return (to, *self.targets[to])
        for exten, (kind, name) in self.targets.items():
            if name == to:
                return exten, kind, name
        raise UnknownTarget(to)

    async def _agent_on_call(
        self, linkedid: str, ctx: CallContext | None, call: Call | None
    ) -> str:
        """Who has the caller now: the Redis context, else the CRM's call record."""
        if ctx and ctx.agent:
            return ctx.agent
        return (call.agent or "") if call is not None else ""

    async def _is_on_call(self, agent: str, linkedid: str, current: str) -> bool:
        if not agent:
            return False
        if agent == current:
            return True
        live = await self._redis.hget(self._keys.live_agent(agent), "linkedid")
        return live is not None and live.decode() == linkedid

    async def _checked(self, linkedid: str, role: str, agent: str) -> str:
        """The agent who has the caller, after checking the call and who asks."""
        ctx = await self.store.get(linkedid)
        async with self._sessions() as session:
            call = (
                await session.execute(select(Call).where(Call.linkedid == linkedid))
            ).scalar_one_or_none()
        ended = call is not None and call.ended_at is not None
        if (ctx is None and call is None) or ended:
            raise CallNotFound(linkedid, f"no call {linkedid}")
        current = await self._agent_on_call(linkedid, ctx, call)
        if role == "agent":
            if not await self._is_on_call(agent, linkedid, current):
                raise NotOnCall(agent, linkedid)
            current = agent
        return current

    async def file_context(
        self, linkedid: str, role: str, agent: str, body: ContextFields
    ) -> CallContextPublic:
        """File (or correct) the call's context; copied to the CRM at once."""
        await self._checked(linkedid, role, agent)
        await self.store.update(linkedid, **body.memo())
        ctx = await self.store.get(linkedid) or CallContext()
        async with self._sessions.begin() as session:
            await copy_context(session, linkedid, ctx)
        return self.public(linkedid, ctx)

    async def context(self, linkedid: str) -> CallContextPublic:
        """The live context from Redis; once that has expired (a day), the CRM's copy."""
        ctx = await self.store.get(linkedid)
        if ctx is None:
            async with self._sessions() as session:
                copy = await session.get(ContextCopy, linkedid)
            if copy is None:
                raise CallNotFound(linkedid, f"no call {linkedid}")
            ctx = CallContext.from_row(copy)
        return self.public(linkedid, ctx)

    def public(self, linkedid: str, ctx: CallContext) -> CallContextPublic:
        return CallContextPublic.of(linkedid, ctx, self.settings.limit)

    async def transfer(
        self, linkedid: str, role: str, agent: str, body: TransferCreate
    ) -> TransferAccepted:
        current = await self._checked(linkedid, role, agent)
        if not current:
            raise TransferNotMade(f"no agent is on call {linkedid} to transfer from")
        exten, kind, name = self.resolve(body.to)
        ctx = await self.store.get(linkedid) or CallContext()
        reservation = Reservation(
            token=f"api-{secrets.token_hex(8)}",
            agent=current,
            to=exten,
            mode=body.mode,
            how="api",
            at=self._clock().timestamp(),
            context={**body.memo(), "uin": ctx.uin},
            to_agent=name if kind == "agent" else "",
        )
        n, _count = await self.store.claim(linkedid, reservation)
        if n < 0:
            # Refused: the context filed for the transfers made stays as it was; the CRM's
            # copy learns of the refused try.
            ctx = await self.store.get(linkedid) or CallContext()
            async with self._sessions.begin() as session:
                await copy_context(session, linkedid, ctx)
            raise TransferLimitReached(self.settings.limit)
        await self.store.update(linkedid, **body.memo())
        ctx = await self.store.get(linkedid) or CallContext()
        async with self._sessions.begin() as session:
            await copy_context(session, linkedid, ctx)
        try:
            await self._issue(linkedid, current, body.mode, exten, n)
        except (AmiError, TransferNotMade, TimeoutError) as exc:
            await self.store.release(linkedid, reservation.token)
            raise TransferNotMade(f"Asterisk did not make the transfer: {exc}") from exc
        counted = body.mode == "blind"
        if counted:
            # A blind transfer is done once Asterisk accepts it; its BlindTransfer event
            # then matches this reservation instead of counting again.
            n = await self.store.count(linkedid, reservation.token) or n
            await self._record(linkedid, n, reservation)
        elif kind == "agent":
            # Atxfer dials the target now: it rings with the context on the screen.
            await self.notifier.screen_pop(
                name, ctx.screen_pop(linkedid, self.settings.limit, n=n, from_agent=current)
            )
        return TransferAccepted(
            n=n,
            remaining=max(self.settings.limit - n, 0),
            mode=body.mode,
            to=exten,
            counted=counted,
        )

    async def cancel(self, linkedid: str, role: str, agent: str) -> int:
        """Cancel the agent's attended transfer in progress (AMI `CancelAtxfer`); its
        slot comes back at once. Returns how many slots were given back."""
        current = await self._checked(linkedid, role, agent)
        if self._send is None:
            raise TransferNotMade("the CRM has no AMI client (set HOTLINE_AMI_SECRET)")
        channel = ami.agent_channel_of(await ami.call_channels(self._send, linkedid), current)
        if channel is None:
            raise TransferNotMade(f"{current} has no channel on call {linkedid}")
        try:
            await ami.cancel_attended_transfer(self._send, channel)
        except (AmiError, TimeoutError) as exc:
            raise TransferNotMade(f"Asterisk did not cancel the transfer: {exc}") from exc
        return await self.store.release_agent(linkedid, current)

    async def _issue(self, linkedid: str, agent: str, mode: str, exten: str, n: int) -> None:
        if self._send is None:
            raise TransferNotMade("the CRM has no AMI client (set HOTLINE_AMI_SECRET)")
        channels = await ami.call_channels(self._send, linkedid)
        channel = ami.agent_channel_of(channels, agent)
        if channel is None:
            raise TransferNotMade(f"{agent} has no channel on call {linkedid}")
        for caller in ami.caller_channels_of(channels):
            # The target's `whisper` reads it: "transfer n of 2".
            await ami.set_inherited(self._send, caller, "TRANSFER_COUNT", str(n))
        action = ami.blind_transfer if mode == "blind" else ami.attended_transfer
        await action(self._send, channel, self.settings.context, exten)

    async def _record(self, linkedid: str, n: int, reservation: Reservation) -> None:
        """The API's own record of a counted transfer. Asterisk's `BlindTransfer` event
        follows the action's response within milliseconds, so the recorder may write the
        same transfer first, or at the same moment: `write_transfer` makes them one row
        (the recorder's outcome and moment win), and nothing here can fail on the other's
        write."""
        ctx = await self.store.get(linkedid) or CallContext()
        async with self._sessions.begin() as session:
            call_id = await call_id_of(session, linkedid)
            await write_transfer(
                session,
                call_id,
                n,
                {
                    "from_agent": reservation.agent,
                    "to": reservation.to,
                    "mode": reservation.mode,
                    "how": "api",
                    "outcome": "made",
                    "context": reservation.context,
                    "context_missing": False,
                    "at": self._clock(),
                },
                by_recorder=False,
            )
            await copy_context(session, linkedid, ctx)

    async def chain(self, uin: str) -> list[TransferPublic]:
        """Every transfer of every call of the ticket, in order."""
        async with self._sessions() as session:
            ticket_id = (
                await session.execute(select(Ticket.id).where(Ticket.uin == uin))
            ).scalar_one_or_none()
            if ticket_id is None:
                raise CallNotFound("", f"no call on ticket {uin}")
            rows = (
                await session.execute(
                    select(Transfer, Call.linkedid)
                    .join(Call, Call.id == Transfer.call_id)
                    .where(Call.ticket_id == ticket_id)
                    .order_by(Call.id, Transfer.n)
                )
            ).all()
        return [
            TransferPublic.model_validate(row).model_copy(update={"linkedid": linkedid})
            for row, linkedid in rows
        ]
