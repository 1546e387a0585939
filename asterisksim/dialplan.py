"""What the model takes from a rendered Asterisk config: the pre-bridge Gosub, sound lengths.

The simulator tells the story of the project's own dialplan: Queue()'s 7th argument (a
Gosub on the member's channel, run after the member answers and before the caller is
bridged) and how long each rendered sound plays. Both are read from the files the
project renders (`hotline asterisk-config render`, `asterisk-config/sounds/manifest.json`),
so the simulator follows the config rather than fixed numbers.

>>> dialplan = '''
... [hotline-in]
... exten => 100,1,Queue(hotline,tTc,,,,,hotline-whisper)
... [hotline-whisper]
... exten => s,1,AGI(agi://127.0.0.1:4573/whisper?lang=ru)
...  same => n,Return()
... '''
>>> prebridge_gosub_url(dialplan, "hotline")
'agi://127.0.0.1:4573/whisper?lang=ru'
>>> prebridge_gosub_url(dialplan.replace(",hotline-whisper)", ",)"), "hotline") is None
True
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

_QUEUE = re.compile(r"\bQueue\(([^)]*)\)")
_SECTION = re.compile(r"^\[([^\]]+)\]")
# AGI()'s first argument: up to a comma or the closing parenthesis outside `${...}`
# (the entry route's URL carries `&linkedid=${CHANNEL(linkedid)}`).
_AGI = re.compile(r"\bAGI\(((?:\$\{[^}]*\}|[^,)])+)")
_VARIABLE = re.compile(r"\$\{([^{}]+)\}")


def expand(text: str, get_var: Callable[[str], str | None]) -> str:
    """`${NAME}` and `${CHANNEL(field)}` in `text` replaced as the dialplan would, on the
    channel whose `get_var` is given (an unset one is empty).

    >>> expand("hotline?lang=ru&linkedid=${CHANNEL(linkedid)}", {"CHANNEL(linkedid)": "17.3"}.get)
    'hotline?lang=ru&linkedid=17.3'
    """
    return _VARIABLE.sub(lambda found: get_var(found.group(1)) or "", text)


def _steps(dialplan: str) -> list[tuple[str, str]]:
    """(context, step) of every dialplan line, comments left out."""
    context, steps = "", []
    for raw in dialplan.splitlines():
        line = re.sub(r"(?<!\\);.*$", "", raw).strip()
        found = _SECTION.match(line)
        if found:
            context = found.group(1)
        elif line:
            steps.append((context, line))
    return steps


def prebridge_gosub_url(dialplan: str, queue: str) -> str | None:
    """The AGI URL of the pre-bridge Gosub the dialplan's `Queue(queue, ...)` runs, if any.

    The Gosub is the 7th argument; its context's first step runs the AGI (the project's
    `[hotline-whisper]`). Refuses a Gosub whose context the dialplan does not have."""
    steps = _steps(dialplan)
    gosubs = {
        (args.split(",") + [""] * 7)[6].strip()
        for _context, step in steps
        for args in _QUEUE.findall(step)
        if args.split(",", 1)[0].strip() == queue
    }
    gosubs.discard("")
    if not gosubs:
        return None
    if len(gosubs) > 1:
        raise ValueError(f"Queue({queue}) runs different Gosubs: {sorted(gosubs)}")
    (gosub,) = gosubs
    context = gosub.split(",", 1)[0]
    for name, step in steps:
        if name == context:
            found = _AGI.search(step)
            if found:
                return found.group(1).strip()
    raise ValueError(f"the pre-bridge Gosub {context!r} has no AGI step in the dialplan")


def sound_durations(manifest: Path) -> dict[str, float]:
    """Seconds of each rendered sound by "<lang>/<name>" (no extension), from manifest.json."""
    files = json.loads(manifest.read_text())["files"]
    return {
        name.removesuffix(".wav"): float(entry["duration_s"])
        for name, entry in files.items()
        if "duration_s" in entry
    }
