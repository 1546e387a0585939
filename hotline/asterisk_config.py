"""`hotline asterisk-config render`: the committed Asterisk templates filled from the environment.

The files under `asterisk-config/` hold `{{NAME}}` placeholders for every number, address,
count and secret; nothing site-specific is committed. Asterisk's own `${...}` syntax is
left alone. Addresses Asterisk dials or listens on (the FastAGI server, AMI's bind address,
port and permits) and the dialplan's choices (the whisper, the agents' channel) come from
the settings, so the rendered files are the whole configuration: nothing is read from
Asterisk's own environment.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from pathlib import Path

from core.settings import Settings, parse_targets

CONFIG_DIR = Path(__file__).resolve().parent.parent / "asterisk-config"
CONF_FILES = (
    "extensions.conf",
    "queues.conf",
    "manager.conf",
    "pjsip.conf",
    "features.conf",
    "rtp.conf",
)
PLACEHOLDER = re.compile(r"\{\{([A-Z][A-Z0-9_]*)\}\}")
MIN_SECRET_CHARS = 12
MAX_AGENTS = 99  # extension 2NN dials agentNN (extensions.conf, _2XX)

# Values with a default; every other placeholder must come from the environment.
DEFAULTS = {
    "HOTLINE_EXTERNAL_ADDRESS": "127.0.0.1",
    "HOTLINE_AGENTS": "10",
}
SECRETS = ("HOTLINE_AMI_SECRET", "HOTLINE_TRUNK_SECRET", "HOTLINE_SIP_SECRET")


class ConfigError(ValueError):
    """The environment does not give what the templates need."""


def agent_password(sip_secret: str, name: str) -> str:
    """Each agent's SIP password, derived from one secret (none is stored anywhere)."""
    return hmac.new(sip_secret.encode(), name.encode(), hashlib.sha256).hexdigest()[:20]


def agent_sections(count: int, sip_secret: str) -> str:
    blocks = []
    for n in range(1, count + 1):
        name = f"agent{n:02d}"
        blocks.append(
            f"[{name}](agent-endpoint)\nauth = {name}\naors = {name}\n"
            f'callerid = "Agent {n}" <2{n:02d}>\n\n'
            f"[{name}](agent-auth)\nusername = {name}\n"
            f"password = {agent_password(sip_secret, name)}\n\n"
            f"[{name}](agent-aor)\n"
        )
    return "\n".join(blocks)


WHISPER_CONTEXT = "hotline-whisper"  # extensions.conf: the pre-bridge Gosub


def permit_lines(networks: str) -> str:
    """manager.conf `permit =` lines, one per comma-separated network."""
    items = [n.strip() for n in networks.split(",") if n.strip()]
    if not items:
        raise ConfigError("HOTLINE_AMI_PERMIT names no network")
    return "\n".join(f"permit = {item}" for item in items)


def targets_dialplan(settings: Settings, values: Mapping[str, str]) -> str:
    """`[hotline-targets]` from `HOTLINE_TRANSFER_TARGETS`: the one list of transfer
    targets, so the agent the API, the AGI route and the screen pops name is the one
    whose phone rings."""
    agi = f"agi://{values['HOTLINE_AGI_HOST']}:{values['HOTLINE_AGI_PORT']}"
    whisper_gosub = values["WHISPER_GOSUB"]
    lines = []
    for exten, (kind, name) in parse_targets(settings.transfers.targets).items():
        if kind == "agent":
            lines += [
                f"exten => {exten},1,Dial({settings.asterisk.agent_dial(name)},30,tT)",
                f" same => n,Queue(hotline,tTc,,,,,{whisper_gosub})",
                " same => n,Hangup()",
            ]
        else:
            lines += [
                f"exten => {exten},1,Queue({name},tTc,,,,,{whisper_gosub})",
                ' same => n,GotoIf($["${QUEUESTATUS}" = "CONTINUE"]?survey)',
                " same => n,Hangup()",
                f" same => n(survey),AGI({agi}/survey)",
                " same => n,Hangup()",
            ]
    return "\n".join(lines)


CONTEXT_LINE = re.compile(r"^\[([A-Za-z0-9_-]+)\]", re.MULTILINE)


def check_targets(settings: Settings, texts: Mapping[str, str], agents: int) -> None:
    """Every transfer target reaches something the rendered config has: a queue of
    `queues.conf`, an agent of `pjsip.conf` (when agents are PJSIP endpoints), and the
    contexts the API and the agents' phones transfer into exist."""
    queues = set(CONTEXT_LINE.findall(texts["queues.conf"])) - {"general"}
    endpoints = {f"agent{n:02d}" for n in range(1, agents + 1)}
    pjsip = settings.asterisk.agent_channel.startswith("PJSIP/")
    for exten, (kind, name) in parse_targets(settings.transfers.targets).items():
        if kind == "queue" and name not in queues:
            raise ConfigError(
                f"HOTLINE_TRANSFER_TARGETS: {exten} goes to queue {name}, "
                f"which queues.conf does not have ({', '.join(sorted(queues))})"
            )
        if kind == "agent" and pjsip and name not in endpoints:
            raise ConfigError(
                f"HOTLINE_TRANSFER_TARGETS: {exten} dials {name}, who is not one of "
                f"the HOTLINE_AGENTS={agents} agents of pjsip.conf (agent01..agent{agents:02d})"
            )
    contexts = set(CONTEXT_LINE.findall(texts["extensions.conf"]))
    for variable, context in (
        ("HOTLINE_TRANSFER_CONTEXT", settings.transfers.context),
        ("HOTLINE_TRANSFER_PHONE_CONTEXT", settings.transfers.phone_context),
    ):
        if context not in contexts:
            raise ConfigError(f"{variable}: the dialplan has no context [{context}]")


def values_from(env: Mapping[str, str], settings: Settings) -> dict[str, str]:
    """Every placeholder's value: the environment, then the settings, then DEFAULTS."""
    values = dict(DEFAULTS)
    values["HOTLINE_SL_THRESHOLD_S"] = str(settings.sl.threshold_s)
    # one wrap-up for Asterisk's queue and the staffing planner's handle time
    values["HOTLINE_WRAPUP_S"] = str(settings.staffing.wrapup_s)
    values["HOTLINE_AMI_USER"] = settings.ami.user
    values["HOTLINE_AMI_PORT"] = str(settings.ami.port)
    values["HOTLINE_AMI_BIND"] = settings.ami.bind
    values["HOTLINE_AGI_HOST"] = settings.agi.host
    values["HOTLINE_AGI_PORT"] = str(settings.agi.port)
    if settings.ami.secret:
        values["HOTLINE_AMI_SECRET"] = settings.ami.secret
    values.update({k: v for k, v in env.items() if k.startswith("HOTLINE_") and v})
    # Computed from the settings alone (their own checks ran when they were read).
    asterisk = settings.asterisk
    values["AMI_PERMITS"] = permit_lines(settings.ami.permit)
    values["AGENT_DIAL"] = asterisk.agent_dial("agent${EXTEN:1}")
    values["WHISPER_GOSUB"] = WHISPER_CONTEXT if asterisk.whisper == "on" else ""
    values["AGENT_LANGUAGE"] = asterisk.agent_language
    values["TRANSFER_TARGETS"] = targets_dialplan(settings, values)
    return values


def render_text(template: str, values: Mapping[str, str]) -> str:
    missing = sorted({m for m in PLACEHOLDER.findall(template) if m not in values})
    if missing:
        raise ConfigError(f"set these environment variables: {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def render(
    out_dir: Path, env: Mapping[str, str], settings: Settings, source: Path = CONFIG_DIR
) -> list[Path]:
    """Write the files into `out_dir`; refuses short secrets and odd agent counts."""
    values = values_from(env, settings)
    for name in SECRETS:
        if name in values and len(values[name]) < MIN_SECRET_CHARS:
            raise ConfigError(f"{name} is shorter than {MIN_SECRET_CHARS} characters")
    try:
        agents = int(values["HOTLINE_AGENTS"])
    except ValueError:
        raise ConfigError(
            f"HOTLINE_AGENTS must be a number, got {values['HOTLINE_AGENTS']!r}"
        ) from None
    if not 1 <= agents <= MAX_AGENTS:
        raise ConfigError(f"HOTLINE_AGENTS must be between 1 and {MAX_AGENTS}")
    templates = {name: (source / name).read_text() for name in CONF_FILES}
    needed = {m for text in templates.values() for m in PLACEHOLDER.findall(text)}
    missing = sorted((needed | {"HOTLINE_SIP_SECRET"}) - set(values) - {"AGENTS"})
    if missing:  # every one named at once, not one per attempt
        raise ConfigError(f"set these environment variables: {', '.join(missing)}")
    values["AGENTS"] = agent_sections(agents, values["HOTLINE_SIP_SECRET"])
    texts = {name: render_text(text, values) for name, text in templates.items()}
    check_targets(settings, texts, agents)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in texts.items():
        path = out_dir / name
        path.write_text(text)
        written.append(path)
    return written
