"""One list of transfer targets: the rendered `[hotline-targets]` reaches the agent or the
queue the code believes (the API's `resolve`, the AGI route's and the screen pops' target
agent), and the contexts the API and the phones transfer into exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fakeredis.aioredis import FakeRedis

from core.settings import AsteriskSettings, Settings, TransferSettings, parse_targets
from crm.models import utcnow
from crm.transfers.counting import TransferCounter
from crm.transfers.service import TransferService
from hotline.asterisk_config import ConfigError, render
from tests.conftest import TEST_KEYS
from tests.deploy.test_asterisk_config import ENV, parse_conf

APP = re.compile(r"^(?:\d+|n)(?:\([a-z-]+\))?,(\w+)\((.*)\)$")


def _dialplan(tmp_path: Path, settings: Settings) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """context -> extension -> [(application, arguments)] in priority order."""
    render(tmp_path, {**ENV, "HOTLINE_AGENTS": "10"}, settings)
    plan: dict[str, dict[str, list[tuple[str, str]]]] = {}
    exten = ""
    for section, key, value in parse_conf((tmp_path / "extensions.conf").read_text()):
        if key == "exten":
            exten, _, value = value.partition(",")
        elif key != "same":
            continue
        found = APP.match(value.removeprefix("> ").strip())
        assert found, value
        plan.setdefault(section, {}).setdefault(exten, []).append(found.groups())
    return plan


def _reaches(steps: list[tuple[str, str]]) -> tuple[str, str]:
    """What an extension's first step reaches: ("dial", channel) or ("queue", name)."""
    app, args = steps[0]
    first = args.split(",", 1)[0]
    return ("dial", first) if app == "Dial" else (app.lower(), first)


@pytest.mark.parametrize(
    ("targets", "channel"),
    [
        (TransferSettings().targets, "PJSIP/{agent}"),
        ("205=agent:agent05,210=agent:agent10,300=queue:support,301=queue:hotline", "PJSIP"),
        ("201=agent:agent01,300=queue:support", "Local/{agent}@harness-agents/n"),
    ],
)
def test_every_target_reaches_the_agent_or_queue_the_code_believes(
    tmp_path: Path, targets: str, channel: str
) -> None:
    settings = Settings(
        transfers=TransferSettings(targets=targets),
        asterisk=AsteriskSettings(agent_channel=channel),
    )
    plan = _dialplan(tmp_path, settings)
    rendered = plan["hotline-targets"]
    believed = parse_targets(targets)
    assert set(rendered) == set(believed), "no target missing, none the code does not know"
    redis = FakeRedis()
    counter = TransferCounter.build(redis, TEST_KEYS, settings.transfers)
    api = TransferService(None, redis, TEST_KEYS, settings.transfers, None, utcnow)  # type: ignore[arg-type]
    queues = set(re.findall(r"^\[([\w-]+)\]", (tmp_path / "queues.conf").read_text(), re.M))
    for exten, (kind, name) in believed.items():
        reached = _reaches(rendered[exten])
        if kind == "agent":
            # The phone that rings is the agent the screen pop and the counter name.
            assert reached == ("dial", settings.asterisk.agent_dial(name)), exten
            assert counter.target_agent(exten) == name
            assert api.resolve(name) == api.resolve(exten) == (exten, "agent", name)
            # Not answered in 30 s: the caller goes back to line 1, never dropped.
            assert rendered[exten][1][0] == "Queue"
        else:
            assert reached == ("queue", name) and name in queues, exten
            assert counter.target_agent(exten) == ""
            assert api.resolve(exten) == (exten, "queue", name)
    # The API's BlindTransfer/Atxfer and the phones' TRANSFER_CONTEXT go to contexts the
    # dialplan has; the phones' context sends an allowed transfer on to the targets.
    assert settings.transfers.context in plan
    phone = plan[settings.transfers.phone_context]["_X."]
    assert ("Goto", "hotline-targets,${EXTEN},1") in phone
    # An extension that is no target is refused before the AGI route (nothing counted).
    assert "DIALPLAN_EXISTS(hotline-targets,${EXTEN},1)" in phone[1][1]
    hotline_in = [args for steps in plan["hotline-in"].values() for _app, args in steps]
    assert f"__TRANSFER_CONTEXT={settings.transfers.phone_context}" in hotline_in


def test_the_old_defaults_are_gone() -> None:
    """`transfer-targets` was a context the dialplan never had, and 201 rang agent01 while
    the code believed agent3 (issue 13, item 6)."""
    settings = TransferSettings()
    assert settings.context == "hotline-targets"
    assert parse_targets(settings.targets)["201"] == ("agent", "agent01")


@pytest.mark.parametrize(
    ("transfers", "message"),
    [
        (TransferSettings(targets="201=agent:agent07"), "agent07, who is not one of"),
        (TransferSettings(targets="300=queue:nowhere"), "queue nowhere"),
        (TransferSettings(context="transfer-targets"), "no context [transfer-targets]"),
        (TransferSettings(phone_context="phones"), "no context [phones]"),
    ],
)
def test_a_target_the_config_cannot_reach_is_refused_at_render(
    tmp_path: Path, transfers: TransferSettings, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        render(tmp_path, {**ENV, "HOTLINE_AGENTS": "3"}, Settings(transfers=transfers))


@pytest.mark.parametrize(
    "targets",
    [
        "201=agent2",
        "2O1=agent:agent01",
        "201=agent:agent 01",
        "201=queue:a),Hangup(",
        "1=agent:a,1=queue:b",
    ],
)
def test_targets_that_cannot_be_written_into_a_dialplan_are_refused(targets: str) -> None:
    with pytest.raises(ValueError, match="HOTLINE_TRANSFER_TARGETS"):
        TransferSettings(targets=targets)
