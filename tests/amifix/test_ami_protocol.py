"""AMI framing and sending: panoramisk 1.4's faults shown, and `AmiProtocol`'s fixes."""

from __future__ import annotations

import pytest
from panoramisk import Message
from panoramisk.ami_protocol import AMIProtocol

from core.ami.protocol import AmiProtocol, AmiUnavailable, make_action

EVENT = (
    "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/trunk-00000001\r\n"
    "CallerIDNum: 79000000001\r\nCallerIDName: Алиса Петрова\r\n\r\n"
).encode()


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


class Collector:
    """Stands in for the manager: collects dispatched events."""

    save_stream = None
    forgetable_actions = ("ping", "login")

    def __init__(self) -> None:
        self.events: list[Message] = []
        self.awaiting_actions: list[object] = []

    def dispatch(self, event: Message) -> None:
        self.events.append(event)


def vanilla_protocol() -> tuple[AMIProtocol, Collector, FakeTransport]:
    protocol, collector, transport = AMIProtocol(), Collector(), FakeTransport()
    protocol.connection_made(transport)
    protocol.factory = collector
    protocol.encoding = "utf8"
    return protocol, collector, transport


def our_protocol() -> tuple[AmiProtocol, Collector, FakeTransport]:
    collector, transport = Collector(), FakeTransport()
    protocol = AmiProtocol(collector)  # type: ignore[arg-type]
    protocol.connection_made(transport)
    return protocol, collector, transport


def feed_bytewise(protocol: AMIProtocol, data: bytes) -> None:
    for i in range(len(data)):
        protocol.data_received(data[i : i + 1])


async def test_vanilla_loses_cyrillic_split_between_reads() -> None:
    protocol, collector, _ = vanilla_protocol()
    feed_bytewise(protocol, EVENT)
    assert len(collector.events) == 1
    # Fault: each byte of a two-byte letter is decoded alone and dropped: the name is gone.
    assert collector.events[0].get("CallerIDName", "").strip() == ""


async def test_cyrillic_survives_one_byte_reads() -> None:
    protocol, collector, _ = our_protocol()
    feed_bytewise(protocol, b"Asterisk Call Manager/11.0.0\r\n" + EVENT)
    assert protocol.version == "11.0.0"
    assert [e["CallerIDName"] for e in collector.events] == ["Алиса Петрова"]
    assert collector.events[0]["CallerIDNum"] == "79000000001"


async def test_invalid_utf8_is_replaced_not_fatal() -> None:
    protocol, collector, _ = our_protocol()
    protocol.data_received(b"Event: Hangup\r\nCallerIDName: \xff\xfeBob\r\n\r\n")
    assert collector.events[0]["CallerIDName"].endswith("Bob")


async def test_vanilla_never_delivers_lf_frames() -> None:
    protocol, collector, _ = vanilla_protocol()
    protocol.data_received(b"Event: Hangup\nChannel: A\n\nEvent: Hangup\nChannel: B\n\n")
    assert collector.events == []  # the fault


@pytest.mark.parametrize(
    "data",
    [
        b"Event: Hangup\nChannel: A\n\nEvent: Hangup\nChannel: B\n\n",
        b"Event: Hangup\r\nChannel: A\r\n\r\nEvent: Hangup\r\nChannel: B\r\n\r\n",
        b"Event: Hangup\r\nChannel: A\n\nEvent: Hangup\nChannel: B\r\n\r\n",
    ],
    ids=["lf", "crlf", "mixed"],
)
async def test_lf_and_crlf_frames_are_delivered(data: bytes) -> None:
    protocol, collector, _ = our_protocol()
    feed_bytewise(protocol, data)
    assert [e["Channel"] for e in collector.events] == ["A", "B"]


async def test_response_is_matched_to_its_action() -> None:
    protocol, _, transport = our_protocol()
    future = protocol.send({"Action": "Ping", "ActionID": "p-1"})
    assert b"Action: Ping\r\n" in transport.written
    protocol.data_received(b"Response: Success\nActionID: p-1\nPing: Pong\n\n")
    reply = await future
    assert reply.success and reply["Ping"] == "Pong"


async def test_a_frame_without_end_past_the_limit_closes_the_connection() -> None:
    protocol, _, transport = our_protocol()
    protocol.max_frame_chars = 100
    protocol.data_received(b"Event: Junk\r\nX: " + b"y" * 200)
    assert transport.closed and protocol.done.done()


async def test_close_fails_waiting_actions_instead_of_resending_them() -> None:
    protocol, collector, _ = our_protocol()
    future = protocol.send({"Action": "Originate", "Channel": "Local/1@x"})
    protocol.connection_lost(ConnectionResetError("reset"))
    with pytest.raises(AmiUnavailable, match="closed before the reply"):
        await future
    assert collector.awaiting_actions == []
    again = protocol.send({"Action": "Status"})
    with pytest.raises(AmiUnavailable):
        await again


INJECTION = "Alice\r\nAction: Hangup\r\nChannel: PJSIP/agent1-00000001"


def action_lines(written: bytes) -> list[str]:
    return [line for line in written.decode().split("\r\n") if line.startswith("Action:")]


async def test_vanilla_lets_a_value_inject_a_second_action() -> None:
    protocol, _, transport = vanilla_protocol()
    protocol.send({"Action": "Setvar", "Variable": "CALLER", "Value": INJECTION})
    assert len(action_lines(transport.written)) == 2  # the fault


async def test_a_value_cannot_inject_a_second_action() -> None:
    protocol, _, transport = our_protocol()
    protocol.send({"Action": "Setvar", "Variable": "CALLER", "Value": INJECTION})
    protocol.send({"Action": "QueueAdd", "Interface": ["a\nAction: Logoff", "b\rc"]})
    assert action_lines(transport.written) == ["Action: Setvar", "Action: QueueAdd"]
    frames = transport.written.decode().split("\r\n\r\n")
    assert "Value: Alice Action: Hangup Channel: PJSIP/agent1-00000001" in frames[0]
    assert "Interface: a Action: Logoff\r\nInterface: b c" in frames[1]


@pytest.mark.parametrize("key", ["Bad\r\nAction", "Bad: key", "X\n"])
async def test_a_header_name_with_colon_or_break_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="colon or a line break"):
        make_action({"Action": "Setvar", key: "1"})


async def test_queueadd_reply_is_not_taken_for_a_list() -> None:
    """panoramisk 1.4 reads "Added interface to queue" as the start of an event list."""
    from panoramisk import actions
    from panoramisk.message import Message

    from core.ami.protocol import make_action

    reply = Message({"Response": "Success", "Message": "Added interface to queue"})
    vanilla = actions.Action({"Action": "QueueAdd", "Queue": "hotline"})
    vanilla.responses.append(reply)
    assert vanilla.multi is True  # the fault: it would wait for events that never come
    ours = make_action({"Action": "QueueAdd", "Queue": "hotline"})
    ours.responses.append(reply)
    assert ours.multi is False
