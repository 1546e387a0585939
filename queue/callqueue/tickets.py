"""The ticket a call's channel variables name (`UIN`, `TICKET_ID`): a fact for each new UIN."""

from __future__ import annotations

from callqueue.calls import CallState
from callqueue.event_values import as_int
from core.ami.parser import AmiMessage
from core.facts import CallFact, CallTicketed


def ticketed(call: CallState, message: AmiMessage, prefix: str = "") -> list[CallFact]:
    """A `ticketed` fact if `message` carries a UIN the call did not have yet.

    Events carry the variables that `manager.conf`'s `channelvars` names (`ChanVariable`,
    or `<prefix>ChanVariable` for one side of a transfer).
    """
    variables = message.variables(prefix)
    uin = variables.get("UIN", "")
    if not uin or uin == call.uin:
        return []
    call.uin = uin
    call.ticket_ref = variables.get("TICKET_ID", "")
    return [CallTicketed(linkedid=call.linkedid, uin=uin, ticket_id=as_int(call.ticket_ref))]
