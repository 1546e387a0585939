"""Routes whisper, survey and the agent features; hostile and CP1251 clients."""

from __future__ import annotations

import asyncio
import json

from core.facts import load_fact
from tests.agi.conftest import Hotline
from tests.agi.scripted import environment, replies, run_script


async def test_whisper_is_one_short_prompt_in_the_agents_language(hotline: Hotline) -> None:
    """The caller waits through the whisper: one file, no UIN digits (the screen pop has it)."""
    commands = await run_script(
        hotline.agi.port,
        environment("whisper?lang=en", agi_language="ru"),
        replies({"UIN": "00012345", "TRANSFER_COUNT": "2"}),
    )
    assert commands == [
        'SET VARIABLE "CHANNEL(language)" "en"',
        'GET VARIABLE "TRANSFER_COUNT"',
        'STREAM FILE "hotline/whisper-transfer-2" ""',
    ]


async def test_whisper_of_a_first_call_says_hotline(hotline: Hotline) -> None:
    commands = await run_script(
        hotline.agi.port, environment("whisper"), replies({"UIN": "00012345"})
    )
    assert not any("whisper-transfer" in c or "SAY DIGITS" in c for c in commands)
    assert 'STREAM FILE "hotline/whisper-hotline" ""' in commands
    assert 'SET VARIABLE "CHANNEL(language)" "ru"' in commands  # the default language


def test_every_whisper_prompt_lasts_at_most_two_seconds() -> None:
    from agi.call_routes import WHISPER_PROMPTS
    from tests.conftest import ROOT

    manifest = json.loads((ROOT / "asterisk-config/sounds/manifest.json").read_text())["files"]
    for language in ("ru", "en"):
        for name in WHISPER_PROMPTS:
            assert manifest[f"{language}/hotline/{name}.wav"]["duration_s"] <= 2.0, name


async def test_survey_records_the_answers(hotline: Hotline) -> None:
    env = environment("survey", channel="Local/100@hotline-in-00000001;2")
    commands = await run_script(
        hotline.agi.port, env, replies({"CHANNEL(linkedid)": "1795311765.7"}, ["9", "1", "5"])
    )
    assert commands == [
        'GET VARIABLE "CHANNEL(linkedid)"',
        'GET DATA "hotline/survey-solved" 5000 1',
        'STREAM FILE "hotline/survey-invalid" ""',
        'GET DATA "hotline/survey-solved" 5000 1',
        'GET DATA "hotline/survey-rate" 5000 1',
        'STREAM FILE "hotline/survey-thanks" ""',
        "HANGUP",
    ]
    await hotline.agi.outbox.drained(5)
    [rated] = [load_fact(f[b"fact"]) for f in await hotline.facts()]
    assert (rated.kind, rated.linkedid, rated.solved, rated.score) == (
        "rated",
        "1795311765.7",
        True,
        5,
    )


async def test_survey_without_answers_ends_the_call(hotline: Hotline) -> None:
    commands = await run_script(hotline.agi.port, environment("survey"), replies({}, []))
    assert commands.count('GET DATA "hotline/survey-solved" 5000 1') == 2
    assert commands[-1] == "HANGUP"
    assert await hotline.facts() == []


async def test_agent_login_pause_logout_through_ami(hotline: Hotline) -> None:
    await hotline.agi.ami.wait_logged_in(5)
    queue = hotline.pbx.pbx.queues["hotline"]
    port = hotline.agi.port
    login = await run_script(
        port,
        environment("agent-login?queues=hotline,support", agi_calleridname="Agent Seven"),
        replies(),
    )
    assert login[-1] == 'STREAM FILE "hotline/agent-logged-in" ""'
    assert "PJSIP/agent7" in queue.members
    assert "PJSIP/agent7" in hotline.pbx.pbx.queues["support"].members
    paused = await run_script(port, environment("agent-pause", agi_arg_1="2"), replies())
    assert paused[-1] == 'STREAM FILE "hotline/agent-paused" ""'
    member = queue.members["PJSIP/agent7"]
    assert member.paused and member.paused_reason == "lunch"
    await run_script(port, environment("agent-pause", agi_arg_1="0"), replies())
    assert not queue.members["PJSIP/agent7"].paused
    logout = await run_script(port, environment("agent-logout"), replies())
    assert logout[-1] == 'STREAM FILE "hotline/agent-logged-out" ""'
    assert "PJSIP/agent7" not in queue.members


async def test_agent_feature_refused_by_asterisk_is_told(hotline: Hotline) -> None:
    await hotline.agi.ami.wait_logged_in(5)
    out = await run_script(hotline.agi.port, environment("agent-logout"), replies())
    assert out[-1] == 'STREAM FILE "hotline/agent-failed" ""'  # was never logged in


async def test_cp1251_caller_name_registers_intact(hotline: Hotline) -> None:
    env = environment(
        "hotline",
        channel="Local/100@hotline-in-00000002;2",
        agi_calleridname="Иван Кузнецов",
        agi_callerid="89000000011",
    )
    answer = replies({"CHANNEL(linkedid)": "1795311765.30"}, ["", ""])
    commands = await run_script(hotline.agi.port, env, answer, encoding="cp1251")
    uin = next(c.split('"')[3] for c in commands if c.startswith('SET VARIABLE "__UIN"'))
    stored = (await hotline.crm.get(f"/api/tickets/{uin}")).json()
    assert stored["caller_name"] == "Иван Кузнецов"
    assert stored["caller_phone"] == "+79000000011"


async def test_client_closing_mid_headers_does_not_touch_other_calls(hotline: Hotline) -> None:
    _reader, writer = await asyncio.open_connection("127.0.0.1", hotline.agi.port)
    writer.write(b"agi_network: yes\nagi_network_script: hotline\nagi_chan")
    await writer.drain()
    writer.close()  # gone before the blank line
    _r2, stalled = await asyncio.open_connection("127.0.0.1", hotline.agi.port)
    stalled.write(b"agi_network: yes\n")  # and one that stalls
    await stalled.drain()
    call = hotline.pbx.place_call("79000000012", "Ольга")
    await hotline.pbx.run_for(60)
    assert call.truth.agi_status == "SUCCESS" and len(call.truth.variables["UIN"]) == 8
    stalled.close()
