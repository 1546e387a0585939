"""Routes `whisper` (to the agent before the bridge) and `survey` (to the caller after)."""

from __future__ import annotations

from collections.abc import Callable

from agi import commands
from agi.server import AgiRequest
from core.facts import CallFact, CallRated
from ivr.catalogue import prompt_file
from ivr.readout import group_digits

SURVEY_TIMEOUT_MS = 5000
WHISPER_PROMPTS = ("whisper-uin", "whisper-transfer-1", "whisper-transfer-2")
SURVEY_PROMPTS = ("survey-solved", "survey-rate", "survey-invalid", "survey-thanks")


async def on_agi_whisper(request: AgiRequest) -> None:
    """Tell the agent the UIN and, on a transferred call, "transfer n of 2"."""
    uin = await request.get_variable("UIN")
    if uin and uin.isdigit():
        await request.send_command(commands.stream_file(prompt_file("whisper-uin")))
        for group in group_digits(uin):
            await request.send_command(commands.say_digits(group))
    transfers = await request.get_variable("TRANSFER_COUNT")
    if transfers in ("1", "2"):
        prompt = prompt_file(f"whisper-transfer-{transfers}")
        await request.send_command(commands.stream_file(prompt))


class SurveyRoute:
    """ "Was your problem solved? 1 yes, 2 no", then "rate us 1 to 5"; one retry each."""

    def __init__(self, publish: Callable[[CallFact], None]) -> None:
        self._publish = publish

    async def __call__(self, request: AgiRequest) -> None:
        linkedid = await request.get_variable("CHANNEL(linkedid)") or request.env.get(
            "agi_uniqueid", ""
        )
        solved = await self._ask(request, "survey-solved", {"1", "2"})
        score = (
            await self._ask(request, "survey-rate", {"1", "2", "3", "4", "5"})
            if solved is not None
            else None
        )
        if solved is not None and linkedid:
            self._publish(
                CallRated(
                    linkedid=linkedid, solved=solved == "1", score=int(score) if score else None
                )
            )
        if solved is not None and score is not None:
            await request.send_command(commands.stream_file(prompt_file("survey-thanks")))
        await request.send_command("HANGUP")

    @staticmethod
    async def _ask(request: AgiRequest, prompt: str, valid: set[str]) -> str | None:
        for attempt in range(2):
            answer = await request.get_data(prompt_file(prompt), SURVEY_TIMEOUT_MS, 1)
            if answer in valid:
                return answer
            if attempt == 0:
                await request.send_command(commands.stream_file(prompt_file("survey-invalid")))
        return None
