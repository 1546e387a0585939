"""queue_log's transfer lines as a restarted tracker reads them (Asterisk 22 writes
BLINDTRANSFER and ATTENDEDTRANSFER, never the older TRANSFER): each is the transferred
caller's `AgentComplete` with Reason transfer, its hold and talk times read from the end."""

from __future__ import annotations

import pytest

from callqueue.queue_log import USED, as_event
from core.queue_log import parse_line

HEAD = "1796602404|1796602368.13|hotline|agent01|"
LINES = {
    # apps/app_queue.c: exten|context|holdtime|calltime|origposition
    "BLINDTRANSFER": HEAD + "BLINDTRANSFER|300|hotline-targets|7|21|1",
    # method-specific parts (here BRIDGE|bridge id), then holdtime|calltime|origposition
    "ATTENDEDTRANSFER": HEAD + "ATTENDEDTRANSFER|BRIDGE|5e1c|7|21|1",
    "TRANSFER": HEAD + "TRANSFER|300|hotline-targets|7|21|1",
}


@pytest.mark.parametrize("event", sorted(LINES))
def test_a_transfer_line_is_the_callers_agent_complete(event: str) -> None:
    record = parse_line(LINES[event])
    assert record.event in USED, f"{event} lines must not be skipped by the resync"
    message = as_event(record, linkedid="1796602368.12", channel="Local/100@hotline-in-0;2")
    assert message.headers["Event"] == "AgentComplete"
    assert message.headers["Reason"] == "transfer"
    assert (message.headers["HoldTime"], message.headers["TalkTime"]) == ("7", "21")
    assert message.headers["MemberName"] == "agent01"
