"""The model set up from a site's rendered Asterisk config: queues, dialplan, sound lengths.

The simulator tells the story of the project's own configuration, not of fixed numbers:
`site_config(...)` reads the rendered `queues.conf` (strategy, timeout, retry, wrapuptime,
servicelevel, ringinuse, autofill, with `(template)` inheritance), the rendered dialplan
(the entry `AGI()`, `TRANSFER_CONTEXT`, the pre-bridge Gosub, the survey after the agent
hangs up, the transfer context's `AGI()`) and how long every sound plays: the project's
rendered prompts (`manifest.json`) in the folders a site mounts over Asterisk's core
sounds, Asterisk's own recorded files (Debian's asterisk-core-sounds 1.6.1, durations in
`core_sounds.json`) for the rest.

>>> queues = '''
... [general]
... autofill = yes
... [defaults](!)
... strategy = fewestcalls
... wrapuptime = 10
... timeout = 15
... [hotline](defaults)
... [support](defaults)
... timeout = 20
... '''
>>> [(q.name, q.wrapuptime_s, q.timeout_s) for q in queue_configs(queues)]
[('hotline', 10.0, 15.0), ('support', 10.0, 20.0)]
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from asterisksim.dialplan import _AGI, _steps, prebridge_gosub_url, sound_durations
from asterisksim.queues import QueueConfig

# Where the project's rendered sounds replace Asterisk's core sounds (docker-compose.yml
# mounts these folders; tests/asterisk/instance.py links them the same way). Elsewhere
# (the digits) Asterisk's own recording is played where it has one, ours where it has none.
MOUNTED_FOLDERS = ("ru/hotline", "en/hotline")
CORE_SOUNDS = Path(__file__).with_name("core_sounds.json")
# Answer() waits for the first audio frame, at most 0.5 s (a silent Local channel's, as
# in 08). A phone sends audio at once: within a frame (20 ms). On the real test instance,
# whose handsets play audio like phones: 29 ms from the caller's Answer() to the next
# step, 4-16 ms from an agent's Answer() to its talk (the caller's audio reaches it).
CALLER_ANSWER_WAIT_S = 0.02
AGENT_ANSWER_WAIT_S = 0.02

_SECTION = re.compile(r"^\[([^\]]+)\](?:\(([^)]*)\))?")
_KEYS = {
    "strategy": ("strategy", str),
    "servicelevel": ("servicelevel_s", int),
    "timeout": ("timeout_s", float),
    "retry": ("retry_s", float),
    "wrapuptime": ("wrapuptime_s", float),
    "ringinuse": ("ringinuse", lambda v: v.strip().lower() in ("yes", "true", "1", "on")),
    "autofill": ("autofill", lambda v: v.strip().lower() in ("yes", "true", "1", "on")),
}


def queue_configs(text: str) -> list[QueueConfig]:
    """Every queue of a queues.conf (templates `(!)` left out, `(name)` inherited)."""
    sections: dict[str, dict[str, str]] = {}
    templates: set[str] = set()
    general: dict[str, str] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = re.sub(r";.*$", "", raw).strip()
        if not line:
            continue
        found = _SECTION.match(line)
        if found:
            name, parents = found.group(1), found.group(2) or ""
            current = {}
            for parent in (p.strip() for p in parents.split(",")):
                if parent == "!":
                    templates.add(name)
                elif parent:
                    current.update(sections.get(parent, {}))
            if name == "general":
                current = general
            else:
                sections[name] = current
            continue
        key, sep, value = line.partition("=")
        if sep and current is not None:
            current[key.strip().lower()] = value.strip().lstrip(">").strip()
    queues = []
    for name, values in sections.items():
        if name in templates:
            continue
        fields: dict[str, Any] = {}
        merged = {"autofill": general.get("autofill", "no")} | values
        for key, value in merged.items():
            if key in _KEYS:
                field, convert = _KEYS[key]
                fields[field] = convert(value)
        queues.append(QueueConfig(name, **fields))
    return queues


_LABEL = re.compile(r"^(?:exten\s*=>\s*[^,]+,|same\s*=>)\s*(?:\d+|n)\(([^)]+)\)", re.I)


def _context_steps(dialplan: str, context: str) -> list[str]:
    return [step for name, step in _steps(dialplan) if name == context]


def entry_agi_url(dialplan: str, context: str) -> str | None:
    """The first `AGI()` of the entry context (the project's `hotline` route)."""
    for step in _context_steps(dialplan, context):
        found = _AGI.search(step)
        if found:
            return found.group(1).strip()
    return None


def entry_agi_retries(dialplan: str, context: str) -> tuple[int, float]:
    """How many tries in all the entry context gives its AGI while AGISTATUS is FAILURE
    (`${AGI_TRIES} < N`), and the `Wait()` between them; (1, 1.0) when it does not retry."""
    steps = _context_steps(dialplan, context)
    tries = wait_s = None
    for step in steps:
        found = re.search(r"\$\{AGI_TRIES\}\s*<\s*(\d+)", step)
        tries = int(found.group(1)) if found and tries is None else tries
        found = re.search(r"\bWait\(([\d.]+)\)", step)
        wait_s = float(found.group(1)) if found and wait_s is None else wait_s
    return (tries or 1, wait_s if wait_s is not None else 1.0)


def entry_exten(dialplan: str, context: str) -> str | None:
    for step in _context_steps(dialplan, context):
        found = re.match(r"exten\s*=>\s*([^,]+),", step)
        if found:
            return found.group(1).strip()
    return None


def entry_set(dialplan: str, context: str, name: str) -> str:
    """The value `Set(name=...)` in `context` gives (`__TRANSFER_CONTEXT`, the channel's
    `CHANNEL(language)`), or "" when the context does not set it."""
    pattern = re.compile(rf"Set\({re.escape(name)}=([^)]+)\)")
    for step in _context_steps(dialplan, context):
        found = pattern.search(step)
        if found:
            return found.group(1).strip()
    return ""


def survey_url(dialplan: str, context: str, queue: str) -> str | None:
    """The AGI the caller runs when the agent hangs up: `Queue(queue,...c...)` (go on when
    the called party hangs up), then `GotoIf(${QUEUESTATUS} = CONTINUE?label)` to a step
    labelled `label` that runs `AGI()`. None when the dialplan does not do that."""
    steps = _context_steps(dialplan, context)
    options = ""
    for step in steps:
        found = re.search(r"\bQueue\(([^)]*)\)", step)
        if found and found.group(1).split(",")[0].strip() == queue:
            options = [*found.group(1).split(","), ""][1]
            break
    if "c" not in options:
        return None
    label = ""
    for step in steps:
        found = re.search(r'QUEUESTATUS\}"?\s*=\s*"?CONTINUE"?\]\?([^)\s:]+)', step)
        if found:
            label = found.group(1)
            break
    for step in steps:
        found = _LABEL.match(step)
        if label and found and found.group(1) == label:
            agi = _AGI.search(step)
            return agi.group(1).strip() if agi else None
    return None


def core_durations(path: Path = CORE_SOUNDS) -> dict[str, float]:
    """Asterisk's own recorded sounds the model may play, by "<lang>/<name>"."""
    return {name: float(s) for name, s in json.loads(path.read_text())["files"].items()}


def site_sound_durations(
    manifest: Path, mounted: tuple[str, ...] = MOUNTED_FOLDERS, core: Path = CORE_SOUNDS
) -> dict[str, float]:
    """How long each sound plays on the site: the project's rendered file in the folders
    it mounts over the core sounds (`mounted`, e.g. "ru/digits"), Asterisk's own file
    elsewhere, the project's file where Asterisk has none."""
    project = sound_durations(manifest)
    durations = core_durations(core)
    for name, seconds in project.items():
        folder = name.rsplit("/", 1)[0]
        if folder in mounted or name not in durations:
            durations[name] = seconds
    return durations


def site_config(
    dialplan: str,
    queues_conf: str,
    manifest: Path,
    *,
    entry_context: str = "hotline-in",
    entry_queue: str = "hotline",
    mounted: tuple[str, ...] = MOUNTED_FOLDERS,
) -> dict[str, Any]:
    """`SimConfig` keyword arguments for the site of these rendered files."""
    agi_tries, agi_retry_wait_s = entry_agi_retries(dialplan, entry_context)
    return {
        "queues": queue_configs(queues_conf),
        "entry_context": entry_context,
        "entry_queue": entry_queue,
        "entry_exten": entry_exten(dialplan, entry_context) or "100",
        "agi_url": entry_agi_url(dialplan, entry_context),
        "agi_tries": agi_tries,
        "agi_retry_wait_s": agi_retry_wait_s,
        "transfer_context": entry_set(dialplan, entry_context, "__TRANSFER_CONTEXT"),
        "entry_language": entry_set(dialplan, entry_context, "CHANNEL(language)"),
        "member_gosub_url": prebridge_gosub_url(dialplan, entry_queue),
        "survey_agi_url": survey_url(dialplan, entry_context, entry_queue),
        "transfer_agi_url": entry_agi_url(dialplan, "hotline-transfer"),
        "sound_durations_s": site_sound_durations(manifest, mounted),
        "answer_delay_s": CALLER_ANSWER_WAIT_S,
        "agent_answer_wait_s": AGENT_ANSWER_WAIT_S,
    }
