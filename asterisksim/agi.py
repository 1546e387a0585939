"""The simulated Asterisk as a FastAGI client: environment, commands and Asterisk's answers."""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from asterisksim.dialplan import expand
from asterisksim.frames import CLASSES

if TYPE_CHECKING:
    from asterisksim.calls import Call
    from asterisksim.channels import Channel
    from asterisksim.pbx import PBX

log = logging.getLogger(__name__)
AGI = CLASSES["agi"]
# Used only when the config has no sound durations (the recorded transcripts' prompts).
SAY_DIGIT_S = 0.5
PROMPT_S = 1.0
# GET DATA with timeout 0: app.c's defaults for the first and the following digits.
GET_DATA_FIRST_S = 6.0
GET_DATA_NEXT_S = 2.0
FOREVER_S = 1_000_000.0
CONNECT_TIMEOUT_S = 5.0
MAX_COMMAND_BYTES = 8192


class AgiEnded(Exception):
    """The AGI session is over (FAILURE from a missing prompt, or HANGUP)."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def environment(pbx: PBX, call: Call, url: str, chan: Channel | None = None) -> bytes:
    two = chan or call.two
    parts = urlsplit(url)
    # res_agi sends everything after the host's "/" as the script, query string included.
    script = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
    env = [
        ("agi_network", "yes"),
        ("agi_network_script", script),
        ("agi_request", url),
        ("agi_channel", two.name),
        ("agi_language", two.language),  # the channel's, as res_agi sends it
        ("agi_type", "Local"),
        ("agi_uniqueid", two.uniqueid),
        ("agi_version", pbx.config.version),
        ("agi_callerid", two.cid_num),
        ("agi_calleridname", two.cid_name),
        ("agi_callingpres", "0"),
        ("agi_callingani2", "0"),
        ("agi_callington", "0"),
        ("agi_callingtns", "0"),
        ("agi_dnid", "unknown"),
        ("agi_rdnis", "unknown"),
        ("agi_context", two.context),
        ("agi_extension", two.exten),
        ("agi_priority", str(two.priority)),
        ("agi_enhanced", "0.0"),
        ("agi_accountcode", ""),
        ("agi_threadid", str(pbx.rng.randrange(10**14, 10**15))),
        ("agi_arg_1", two.exten),
    ]
    return "".join(f"{k}: {v}\n" for k, v in env).encode() + b"\n"


async def run_agi(
    pbx: PBX,
    call: Call,
    url: str,
    done: Callable[[Call, str], None] | None = None,
    chan: Channel | None = None,
) -> None:
    """Run `AGI(url)` for the caller; the dialplan goes on with AGISTATUS set either way:
    at `done(call, status)`, by default [hotline-in]'s next step (`pbx.after_agi`).

    On `chan` (a member's channel, Queue()'s pre-bridge Gosub) it runs until that channel
    hangs up or the script ends, whatever the caller does meanwhile (app_queue keeps the
    caller in autoservice). Started by `PBX.start_agi`, which holds the clock: this takes
    that hold over."""
    status = "FAILURE"
    if chan is None:
        running = lambda: call.state == "agi"  # noqa: E731
    else:
        running = lambda: not chan.hung_up  # noqa: E731
    clock = pbx.clock
    url = expand(url, (chan or call.two).get_var)  # ${CHANNEL(linkedid)} and the like
    parts = urlsplit(url)
    writer: asyncio.StreamWriter | None = None
    held = True
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 4573),
            CONNECT_TIMEOUT_S,
        )
        writer.write(environment(pbx, call, url, chan))
        await writer.drain()
        status = "SUCCESS"
        while running():
            line = await asyncio.wait_for(reader.readline(), 30)
            clock.release()
            held = False
            if not line:
                break
            command = line[:MAX_COMMAND_BYTES].decode("utf-8", "replace").strip()
            if not command:
                clock.hold()
                held = True
                continue
            reply, ended = await execute(pbx, call, command, chan)
            # Held from the reply on: the AGI server's next command comes at this moment.
            clock.hold()
            held = True
            writer.write(reply.encode() + b"\n")
            await writer.drain()
            if ended is not None:
                status = ended
                break
    except (OSError, TimeoutError) as exc:
        log.info("AGI %s for %s: %s", url, (chan or call.two).name, exc)
    finally:
        if held:
            clock.release()
        if writer is not None:
            writer.close()
    (done or pbx.after_agi)(call, status)


async def execute(
    pbx: PBX, call: Call, command: str, chan: Channel | None = None
) -> tuple[str, str | None]:
    """One AGI command: AGIExecStart, the effect, AGIExecEnd; returns (reply, end status)."""
    call.truth.agi_commands.append(command)
    command_id = pbx.rng.randrange(10**8, 10**9)
    two = chan or call.two
    block = pbx.blk(two)
    pbx.emit(AGI, "AGIExecStart", block + f"CommandId: {command_id}\r\nCommand: {command}\r\n")
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    verb = " ".join(words[:2]).upper() if words else ""
    ended: str | None = None
    clock = pbx.clock
    if verb == "SET VARIABLE" and len(words) >= 4:
        two.set_var(words[2], words[3])
        if chan is None:  # the caller's own variables (a member's are not the call's)
            call.truth.variables[words[2].lstrip("_")] = words[3]
        reply = "200 result=1"
    elif verb == "GET VARIABLE" and len(words) >= 3:
        value = two.get_var(words[2])
        reply = f"200 result=1 ({value})" if value is not None else "200 result=0"
    elif verb == "SAY DIGITS" and len(words) >= 3:
        digits = [f"digits/{d}" for d in words[2] if d.isdigit()]
        await clock.sleep(sum(sound_s(pbx, two, name, SAY_DIGIT_S) for name in digits))
        reply = "200 result=0"
    elif verb == "STREAM FILE" and len(words) >= 2:
        if len(words) >= 3 and words[2] in pbx.config.prompts:
            await clock.sleep(sound_s(pbx, two, words[2], PROMPT_S))
            reply = "200 result=0 endpos=8000"
        else:
            reply, ended = "200 result=-1 endpos=0", "FAILURE"
    elif verb == "GET DATA" and len(words) >= 3:
        reply = await get_data(pbx, call, two, words)
    elif words and words[0].upper() == "ANSWER":
        reply = "200 result=0"
    elif words and words[0].upper() == "EXEC":
        reply = "200 result=0"
    elif words and words[0].upper() == "HANGUP":
        reply, ended = "200 result=1", "HANGUP"
        clock.call_later(0, pbx.caller_hangup, call)
    elif words and words[0].upper() == "VERBOSE":
        reply = "200 result=1"
    elif words and words[0].upper() == "NOOP":
        reply = "200 result=0"
    else:
        reply = "510 Invalid or unknown command"
    code = reply[:3]
    pbx.emit(
        AGI,
        "AGIExecEnd",
        block + f"CommandId: {command_id}\r\nCommand: {command}\r\n"
        f"ResultCode: {code}\r\nResult: {'Success' if code == '200' else 'Failure'}\r\n",
    )
    return reply, ended


def sound_s(pbx: PBX, chan: Channel, name: str, fixed_s: float) -> float:
    """How long `name` plays on `chan`: its file's duration in the channel's language when
    the config has the rendered files' durations, else the model's fixed time."""
    durations = pbx.config.sound_durations_s
    if not durations:
        return fixed_s
    return durations.get(f"{chan.language}/{name}", fixed_s)


async def get_data(pbx: PBX, call: Call, chan: Channel, words: list[str]) -> str:
    """res_agi's GET DATA (app.c ast_app_getdata_full): the prompt plays to its end unless
    a key stops it, then each digit is awaited up to the timeout (first and later digits
    alike when a timeout is given; 6 s and 2 s when it is 0). A missing prompt answers
    `result=-1`; digits that stop at a timeout carry ` (timeout)`, as Asterisk's do."""
    try:
        timeout_ms = int(words[3]) if len(words) >= 4 else 0
        max_digits = int(words[4]) if len(words) >= 5 else 1024
    except ValueError:
        return "520 Invalid command syntax.  Proper usage not available."
    first_s, next_s = GET_DATA_FIRST_S, GET_DATA_NEXT_S
    if timeout_ms > 0:
        first_s = next_s = timeout_ms / 1000
    elif timeout_ms < 0:
        first_s = next_s = FOREVER_S
    prompt = words[2]
    if prompt and prompt not in pbx.config.prompts:
        return "200 result=-1"
    prompt_s = sound_s(pbx, chan, prompt, PROMPT_S) if prompt else 0.0
    digits, timed_out = await collect_digits(pbx, call, prompt_s, first_s, next_s, max_digits)
    if timed_out:
        return f"200 result={digits} (timeout)"
    return f"200 result={digits}"


async def collect_digits(
    pbx: PBX, call: Call, prompt_s: float, first_s: float, next_s: float, max_digits: int
) -> tuple[str, bool]:
    """Digits for GET DATA, and whether a timeout ended them: the caller's scripted DTMF
    first (pressed as the prompt starts), then PlayDTMF'd ones. A key stops the prompt."""
    buffer = call.two.dtmf
    if call.dtmf:
        buffer.extend(call.dtmf)
        call.dtmf = ""
    if prompt_s > 0 and not buffer:
        await _digit_or_timeout(pbx, call, buffer, prompt_s)
    digits = ""
    while len(digits) < max_digits:
        if not buffer and not await _digit_or_timeout(
            pbx, call, buffer, next_s if digits else first_s
        ):
            return digits, True
        digit = buffer.pop(0)
        if digit == "#":
            break
        digits += digit
    return digits, False


async def _digit_or_timeout(pbx: PBX, call: Call, buffer: list[str], timeout_s: float) -> bool:
    """Wait until a key is pressed (True) or `timeout_s` of the model's time has passed."""
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    call.extra_waiter = waiter
    timer = pbx.clock.call_later(timeout_s, pbx.clock.wake, waiter)
    await pbx.clock.wait(waiter)
    timer.cancel()
    return bool(buffer)


def play_dtmf(pbx: PBX, call: Call, digit: str) -> None:
    """AMI PlayDTMF on the caller's handset: the digit reaches the dialplan half."""
    call.two.dtmf.append(digit)
    waiter = call.extra_waiter
    if isinstance(waiter, asyncio.Future):
        pbx.clock.wake(waiter)
