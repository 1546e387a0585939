"""The survey after the agent hangs up: the caller's keys reach Hotline's CRM.

`Queue(hotline,tTc,...)`: when the agent hangs up first, the caller goes on in the dialplan
(`QUEUESTATUS=CONTINUE`) to `AGI(.../survey)`, which asks "was your problem solved? 1 yes,
2 no" and "rate us 1 to 5". The harness caller presses the keys on the handset (DTMF out of
the `;1` half, as a phone sends it); the answers must land on the call and on its ticket.
"""

from __future__ import annotations

import pytest

from tests.asterisk.harness import Line
from tests.asterisk.steps import agi_command, ended, hung_up, press

ANSWER_S = 1
TALK_S = 2  # the agent hangs up after this long: the caller goes on to the survey


@pytest.mark.parametrize(("solved_key", "score"), [("1", 4)])
async def test_the_survey_answers_land_on_the_call_and_its_ticket(
    line: Line, solved_key: str, score: int
) -> None:
    await line.add_agent("agent01", answer_s=ANSWER_S, talk_s=TALK_S)
    caller = await line.call("79000000005", "Dina")
    await line.event("AgentConnect", caller)
    complete = await line.agent_complete(caller, "agent01")
    assert complete["Reason"] == "agent"  # the agent hung up: the caller goes on
    await agi_command(line, caller, "GET DATA", "hotline/survey-solved")
    await press(line, caller, solved_key)
    await agi_command(line, caller, "GET DATA", "hotline/survey-rate")
    await press(line, caller, str(score))
    await agi_command(line, caller, "STREAM FILE", "hotline/survey-thanks")
    await hung_up(line, caller)  # the route hangs up after its thanks
    call = await line.crm_call(caller, lambda c: ended(c) and c["score"] is not None)
    assert call["outcome"] == "answered"
    assert (call["solved"], call["score"]) == (solved_key == "1", score)
    reply = await line.crm.get(f"/api/tickets/{call['uin']}/events")
    assert reply.status_code == 200, reply.text
    rated = [e for e in reply.json() if e["action"] == "rated"]
    assert len(rated) == 1
    assert rated[0]["actor"] == "survey"
    assert rated[0]["new_value"] == caller.linkedid
    assert rated[0]["data"] == {"solved": solved_key == "1", "score": score}
