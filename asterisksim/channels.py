"""Channels of the simulated PBX and how a channel block is written in an AMI event."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
_BLOCK_FIELDS = frozenset(
    {"state", "cid_num", "cid_name", "conn_num", "conn_name", "language", "context", "exten",
     "priority"}
)  # fmt: skip
UNKNOWN = "<unknown>"


@dataclass(eq=False, slots=True)
class Channel:
    """One channel (one half of a Local channel pair is one Channel)."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    conn_num: str = UNKNOWN
    conn_name: str = UNKNOWN
    language: str = "en"
    created_s: float = 0.0
    app: str = ""
    app_data: str = ""
    bridge_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    dtmf: list[str] = field(default_factory=list)
    hung_up: bool = False
    peer: Channel | None = None  # the other half of a Local pair
    _cache: dict[str, str] = field(default_factory=dict)
    _plain: dict[str, str] = field(default_factory=dict)  # names without `_`/`__`
    _vcache: dict[str, str] = field(default_factory=dict)  # ChanVariable lines per prefix

    def set(self, **changes: object) -> None:
        stale = False
        for key, value in changes.items():
            setattr(self, key, value)
            stale = stale or key in _BLOCK_FIELDS
        if stale:  # app/bridge changes do not show in a channel block: keep the cache
            self._cache.clear()

    def channelvar_lines(self, channelvars: tuple[str, ...]) -> str:
        """OriginateResponse's form: `ChanVariable(<channel>): NAME=value`."""
        return "".join(
            f"ChanVariable({self.name}): {v}={self._plain.get(v, '')}\r\n" for v in channelvars
        )

    def set_var(self, name: str, value: str) -> None:
        if name == "CHANNEL(language)":  # a function, as res_agi's SET VARIABLE allows
            self.language = value
            self._cache.clear()  # the channel block shows Language:
            return
        self.variables[name] = value
        self._plain[name.lstrip("_")] = value
        self._cache.clear()
        self._vcache.clear()

    def update_vars(self, variables: dict[str, str]) -> None:
        for name, value in variables.items():
            self.set_var(name, value)

    def get_var(self, name: str) -> str | None:
        if name.startswith("CHANNEL(") and name.endswith(")"):
            # res_agi's GET VARIABLE reads a name ending in ")" as a dialplan function.
            return {
                "linkedid": self.linkedid,
                "uniqueid": self.uniqueid,
                "name": self.name,
                "language": self.language,
            }.get(name[8:-1])
        if name in self.variables:
            return self.variables[name]
        return self._plain.get(name.lstrip("_"))

    def inheritable(self) -> dict[str, str]:
        """Variables a channel created by this one inherits (`_X` once, `__X` for ever)."""
        out: dict[str, str] = {}
        for key, value in self.variables.items():
            if key.startswith("__"):
                out[key] = value
            elif key.startswith("_"):
                out[key[1:]] = value
        return out

    def block(self, prefix: str, channelvars: tuple[str, ...], empty_vars: bool = False) -> str:
        """The channel's headers with a role prefix (`Dest`, `Transferee`...), CRLF-ended."""
        key = prefix if not empty_vars else prefix + "\0"
        text = self._cache.get(key)
        if text is None:
            template = _TEMPLATES.get(prefix) or _template(prefix)
            text = template % (
                self.name, self.state, STATE_DESC.get(self.state, "Unknown"), self.cid_num,
                self.cid_name, self.conn_num, self.conn_name, self.language, self.context,
                self.exten, self.priority, self.uniqueid, self.linkedid,
            )  # fmt: skip
            if channelvars:
                lines = self._vcache.get(key)
                if lines is None:
                    plain = {} if empty_vars else self._plain
                    lines = self._vcache[key] = "".join(
                        [f"{prefix}ChanVariable: {v}={plain.get(v, '')}\r\n" for v in channelvars]
                    )
                text += lines
            self._cache[key] = text
        return text


_FIELDS = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
           "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context",
           "Exten", "Priority", "Uniqueid", "Linkedid")  # fmt: skip
_TEMPLATES: dict[str, str] = {}


def _template(prefix: str) -> str:
    """A %-template of a channel block for one role prefix (one C-level format per block)."""
    lines = [
        f"{prefix}{name}: \r\n" if name == "AccountCode" else f"{prefix}{name}: %s\r\n"
        for name in _FIELDS
    ]
    _TEMPLATES[prefix] = template = "".join(lines)
    return template


class ChannelFactory:
    """Names and ids as Asterisk makes them: one Local counter, one uniqueid sequence."""

    def __init__(self) -> None:
        self._local_seq = itertools.count()
        self._uid_seq = itertools.count()
        self.by_name: dict[str, Channel] = {}

    def uniqueid(self, now_s: float) -> str:
        return f"{int(now_s)}.{next(self._uid_seq)}"

    def local_pair(
        self, exten: str, context: str, now_s: float, linkedid: str | None = None
    ) -> tuple[Channel, Channel]:
        """`Local/exten@context-0000000n;1` (Down) and `;2` (Ring), ;2 runs the dialplan."""
        base = f"Local/{exten}@{context}-{next(self._local_seq):08x}"
        uid1 = self.uniqueid(now_s)
        link = linkedid or uid1
        one = Channel(base + ";1", uid1, link, context, exten, state=0, created_s=now_s)
        two = Channel(
            base + ";2", self.uniqueid(now_s), link, context, exten, state=4, created_s=now_s
        )
        one.peer, two.peer = two, one
        self.by_name[one.name] = one
        self.by_name[two.name] = two
        return one, two

    def forget(self, chan: Channel) -> None:
        self.by_name.pop(chan.name, None)
