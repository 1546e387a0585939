"""Route `transfer`: every softphone transfer passes here (the dialplan's TRANSFER_CONTEXT).

Dialplan contract (`[hotline-transfer]`, `exten => _X.,1,AGI(agi://agi:4573/transfer,${EXTEN})`):
- the route counts the transfer in the call's Redis context (`core.context.store`,
  the same atomic counter as the API and the recorder) and sets `TRANSFER_ALLOWED` to
  `1` or `0`, and `__TRANSFER_COUNT` (inherited, so the target's `whisper` says
  "transfer n of 2");
- over the limit it plays `hotline/transfer-limit` on the channel it runs on and sets
  `TRANSFER_ALLOWED=0`; the dialplan then returns the caller to where they were;
- a blind transfer (Asterisk sets `BLINDTRANSFER` to the transferer's channel; the route
  runs on the caller's channel) counts at once, and the `BlindTransfer` event that
  reports it is matched to this count; an attended one (the route runs on the agent's
  consultation channel, a Local channel whose `TRANSFERERNAME` names the agent's) takes
  a slot that counts when `AttendedTransfer` reports it done and frees itself if nobody
  completes it;
- no context filed over the API: the transfer still goes, with the UIN and the caller's
  name, and its record says `context_missing`.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

from agi import commands
from agi.server import AgiRequest
from core.ami.channels import agent_of
from core.context.model import CallContext
from core.context.notifier import AgentNotifier
from core.context.store import CallContextStore, Reservation
from core.settings import TransferSettings, parse_targets
from ivr.catalogue import prompt_file

log = logging.getLogger(__name__)
TRANSFER_PROMPTS = ("transfer-limit",)


class TransferRoute:
    """The `transfer` route; see the module docstring."""

    def __init__(
        self,
        store: CallContextStore,
        notifier: AgentNotifier,
        settings: TransferSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.settings = settings
        self.targets = parse_targets(settings.targets)
        self._clock = clock

    async def __call__(self, request: AgiRequest) -> None:
        env = request.env
        to = (request.args[0] if request.args else "") or env.get("agi_extension", "")
        linkedid = await request.get_variable("CHANNEL(linkedid)") or env.get("agi_uniqueid", "")
        transferer = await request.get_variable("BLINDTRANSFER")
        blind = bool(transferer)
        if not blind:
            # An attended transfer's consultation is a Local channel Asterisk made for
            # the transferer, whose name it leaves in TRANSFERERNAME (bridge_basic.c):
            # the Local channel's own name is the extension dialled, not the agent.
            transferer = await request.get_variable("TRANSFERERNAME") or env.get("agi_channel", "")
        agent = agent_of(transferer)
        ctx = await self.store.get(linkedid) or CallContext()
        uin = await request.get_variable("UIN") or ctx.uin
        context = ctx.memo()
        context.setdefault("uin", uin)
        context.setdefault("caller_full_name", env.get("agi_calleridname", ""))
        kind, name = self.targets.get(to, ("", ""))
        reservation = Reservation(
            token=f"agi-{secrets.token_hex(8)}",
            agent=agent,
            to=to,
            mode="blind" if blind else "attended",
            how="blind" if blind else "attended",
            at=self._clock(),
            context={k: v for k, v in context.items() if v},
            to_agent=name if kind == "agent" else "",
        )
        n, count = await self.store.claim(linkedid, reservation, adopt=blind)
        if n < 0:
            log.info("transfer of %s to %s refused: %d made already", linkedid, to, count)
            await request.send_command(commands.set_variable("TRANSFER_ALLOWED", "0"))
            await request.send_command(commands.stream_file(prompt_file("transfer-limit")))
            return
        if blind:
            # Adopted (the event came first): already counted; else count it now.
            n = await self.store.count(linkedid, reservation.token) or n
        elif name:
            # The consultation call is about to ring the target: the screen pop goes now.
            await self.notifier.screen_pop(
                name, ctx.screen_pop(linkedid, self.settings.limit, n=n, from_agent=agent)
            )
        await request.send_command(commands.set_variable("__TRANSFER_COUNT", n))
        await request.send_command(commands.set_variable("TRANSFER_ALLOWED", "1"))
