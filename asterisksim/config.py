"""Configuration of the simulated Asterisk: manager.conf, queues.conf and dialplan knobs."""

from __future__ import annotations

from dataclasses import dataclass, field

from asterisksim.queues import QueueConfig

# Answer() on a ringing Local channel waits up to 500 ms for media that never comes before
# the dialplan continues (08: callers join the queue, agents start their Wait(talk), 0.5 s
# after their Newstate Up). SimConfig.answer_delay_s turns it on.
ANSWER_DELAY_S = 0.5

# 08: waiting callers ring a freed agent 13.011 s after 13 retry ticks, 15.012 s after 15.
QUEUE_TICK_OVERHEAD_S = 0.0008


def _default_queues() -> list[QueueConfig]:
    return [QueueConfig("hotline"), QueueConfig("support")]


@dataclass
class AgentProfile:
    """How the Local agent `agentN` behaves: answer delay, and talk time before hanging up."""

    answer_delay_s: float = 2.0
    talk_s: float | None = None  # None: talks until the caller hangs up (3600 s in recordings)


@dataclass
class SimConfig:
    """Everything a SimulatedAsterisk needs; defaults are the transcripts' set-up (README)."""

    host: str = "127.0.0.1"
    port: int = 0
    username: str = "hotline"
    secret: str = "hotline"
    timestampevents: bool = False
    channelvars: tuple[str, ...] = ()
    queues: list[QueueConfig] = field(default_factory=_default_queues)
    # [hotline-in]: Answer, optional AGI(url,${EXTEN}), then Queue(hotline,tT).
    entry_exten: str = "100"
    entry_context: str = "hotline-in"
    entry_queue: str = "hotline"
    agi_url: str | None = None
    # [hotline-in] tries the AGI again while it FAILs (no session: the server not there),
    # up to this many tries in all, `agi_retry_wait_s` apart (asterisksim.site reads both).
    agi_tries: int = 1
    agi_retry_wait_s: float = 1.0
    # Queue()'s 7th argument, the pre-bridge Gosub on the member's channel, as the AGI URL
    # it runs (asterisksim.dialplan reads it from a rendered extensions.conf); None: none.
    member_gosub_url: str | None = None
    # Queue(...,c) then AGI(<this>) on QUEUESTATUS=CONTINUE: when the agent hangs up, the
    # caller's ;2 leaves the bridge and runs this script (the survey), then Hangup().
    # None: the caller's call ends with the agent's (asterisksim.site reads the dialplan).
    survey_agi_url: str | None = None
    # Seconds each sound file plays, by "<lang>/<name>" ("ru/hotline/welcome",
    # "ru/digits/4"): the site's files (asterisksim.site: the project's rendered prompts,
    # Asterisk's own digits where they win). Empty: the fixed PROMPT_S and SAY_DIGIT_S of
    # asterisksim.agi (the recorded transcripts' hello-world and the like).
    sound_durations_s: dict[str, float] = field(default_factory=dict)
    # [hotline-in] Set(CHANNEL(language)=...) before the AGI: the caller's channel's
    # language (its AGI environment's agi_language, the sounds it plays); "" leaves
    # Asterisk's default, "en", as in the transcripts.
    entry_language: str = ""
    # [hotline-in] Set(__TRANSFER_CONTEXT=...): the context the agents' softphone transfers
    # (features' blindxfer, SIP REFER) go to; "" leaves it unset, as in the transcripts.
    transfer_context: str = ""
    # [hotline-transfer] _X.: AGI(<this>,${EXTEN}), then Goto(hotline-targets,...) if allowed.
    transfer_agi_url: str | None = None
    # transfer-targets: exten -> ("agent", name) plain Dial, or ("queue", name), or ("ivr", "").
    transfer_targets: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {
            "200": ("agent", "agent2"),
            "201": ("agent", "agent3"),
            "300": ("queue", "support"),
            "400": ("ivr", ""),
        }
    )
    default_agent: AgentProfile = field(default_factory=AgentProfile)
    prompts: frozenset[str] = frozenset(
        {"hello-world", "beep", "silence/1", "queue-periodic-announce", "vm-goodbye"}
    )
    start_s: float = 1795310945.2
    seed: int = 1
    # Answer()'s wait (ANSWER_DELAY_S in real Asterisk). 0 by default: 01-07 carry no
    # timestamps to show it, and the fixtures built on the model (tests/live) expect callers
    # in the queue at once; `production-sample` (08, timestamped) turns it on.
    answer_delay_s: float = 0.0
    # Answer() in the agent's own dialplan before its talk time runs (the harness's and the
    # transcripts' Local agents: Wait(delay), Answer(), Wait(talk)); None: answer_delay_s.
    agent_answer_wait_s: float | None = None
    # Time each 1 s pass of app_queue's wait loop takes beyond `retry` (08: about 0.8 ms).
    queue_tick_overhead_s: float = QUEUE_TICK_OVERHEAD_S
    # UINs the dialplan hands out, in call order (a replay of a recording); then random ones.
    uins: tuple[str, ...] = ()
    version: str = "22.10.1"
