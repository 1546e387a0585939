"""The test harness's overlay on the project's rendered Asterisk config: each change, and why.

The instance runs the project's own `hotline asterisk-config render` output. What the
harness changes in it is listed in `changes()`, one line each with its reason; what it adds
(callers' and agents' phones as Local channels, an AMI user for the harness, the files a
site keeps outside the project: asterisk.conf, modules.conf, logger.conf, musiconhold.conf)
is the rest of this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Change:
    """Replace `find` (which must be there) by `replace` in one rendered file."""

    file: str
    find: str
    replace: str
    reason: str


@dataclass(frozen=True)
class Ports:
    ami: int
    agi: int


def _include(name: str) -> str:
    return f'\n#include "harness/{name}"\n\n[general]\n'


def changes(ports: Ports) -> list[Change]:
    """The harness's changes to the project's config: keep this list short (issue 13).

    Loopback, the free ports and the Local agents are settings of the render
    (`AsteriskInstance.render_env`), not changes; what is left adds the harness's own."""
    return [
        Change("extensions.conf", "\n[general]\n", _include("extensions.conf"),
               "adds the harness's callers and agents contexts"),
        Change("manager.conf", "\n[general]\n", _include("manager.conf"),
               "adds the harness's own AMI user (originate, hang up, DBPut, read all)"),
    ]  # fmt: skip


HARNESS_EXTENSIONS = """\
; The test harness's phones (tests/asterisk/overlay.py), all Local channels.

; A caller's handset: the ;1 half of Originate(Local/NUMBER@hotline-in); it stays on the
; line until the test hangs it up (AMI Hangup), as a caller would.
[harness-callers]
; A phone sends audio (RTP, silence included) from the moment it is answered; Answer() in
; [hotline-in] waits up to 500 ms for that first frame. Silence on hold is that audio.
exten => handset,1,MusicOnHold(default,3600)
 same => n,Hangup()

; An agent's phone, queue member Local/agentNN@harness-agents/n: it rings for
; DB(harness/agentNN/answer_s) seconds (2 if unset), answers, and hangs up after
; DB(harness/agentNN/talk_s) seconds (an hour if unset: the caller hangs up first).
; [n]: a bare n in a pattern is a digit 2-9, and agent01 would match nothing.
[harness-agents]
exten => _age[n]t.,1,Set(ANSWER_S=${DB(harness/${EXTEN}/answer_s)})
 same => n,Set(TALK_S=${DB(harness/${EXTEN}/talk_s)})
 same => n,Wait(${IF($["${ANSWER_S}" = ""]?2:${ANSWER_S})})
 same => n,Answer()
 same => n,Wait(${IF($["${TALK_S}" = ""]?3600:${TALK_S})})
 same => n,Hangup()
"""


def harness_manager(secret: str) -> str:
    return (
        "; The test harness's AMI user (tests/asterisk/overlay.py): it drives the calls.\n"
        "[harness]\n"
        f"secret = {secret}\n"
        "deny = 0.0.0.0/0.0.0.0\n"
        "permit = 127.0.0.1/255.255.255.255\n"
        "read = all\n"
        "write = all\n"
        "writetimeout = 5000\n\n"
    )


def asterisk_conf(home: Path, prefix: Path) -> str:
    """Every directory of the instance under `home`; the binaries and modules in `prefix`."""
    return (
        "[directories]\n"
        f"astetcdir => {home}/etc/asterisk\n"
        f"astmoddir => {prefix}/lib/asterisk/modules\n"
        f"astvarlibdir => {home}/lib\n"
        f"astdbdir => {home}/lib\n"
        f"astkeydir => {home}/lib\n"
        f"astdatadir => {home}/data\n"
        f"astagidir => {home}/agi-bin\n"
        f"astspooldir => {home}/spool\n"
        f"astrundir => {home}/run\n"
        f"astlogdir => {home}/log\n"
        f"astsbindir => {prefix}/sbin\n\n"
        "[options]\n"
        "verbose = 3\n"
        "nocolor = yes\n"
        "defaultlanguage = en\n"
        "documentation_language = en_US\n"
        "hideconnect = yes\n"
    )


LOGGER_CONF = """\
[general]
dateformat = %F %T.%3q

[logfiles]
messages.log => notice,warning,error,verbose
"""

# Everything the build has; nothing network-facing is built but AMI (and that binds loopback).
MODULES_CONF = """\
[modules]
autoload = yes
noload = cdr_csv.so
"""

MUSICONHOLD_CONF = """\
; queues.conf asks for musicclass=default: one short file, looped.
[default]
mode = files
directory = moh
"""


def apply(etc: Path, ports: Ports) -> list[str]:
    """Apply `changes()` to the rendered files in `etc`; the reasons, one line each."""
    applied = []
    for change in changes(ports):
        path = etc / change.file
        text = path.read_text()
        if change.find not in text:
            raise RuntimeError(f"overlay: {change.find!r} is no longer in {change.file}")
        path.write_text(text.replace(change.find, change.replace))
        applied.append(f"{change.file}: {change.find!r} -> {change.replace!r}: {change.reason}")
    return applied
