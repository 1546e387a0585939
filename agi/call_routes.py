"""Routes `whisper` (to the agent before the bridge) and `survey` (to the caller after)."""

from __future__ import annotations

from collections.abc import Callable

from agi import commands
from agi.server import AgiRequest
from core.facts import CallFact, CallRated
from ivr.catalogue import DEFAULT_LANGUAGE, LANGUAGES, prompt_file

SURVEY_TIMEOUT_MS = 5000
WHISPER_PROMPTS = ("whisper-hotline", "whisper-transfer-1", "whisper-transfer-2")
SURVEY_PROMPTS = ("survey-solved", "survey-rate", "survey-invalid", "survey-thanks")


async def on_agi_whisper(request: AgiRequest) -> None:
    """One short prompt to the agent before the bridge: "hotline", or "transfer n of 2".

    It runs inside the caller's wait (Queue()'s pre-bridge Gosub), so it is a single file of
    at most ~2 s; the UIN is not read (four digits alone would take ~3 s): the screen pop
    showed it while the phone rang. It plays in the agent's language (`?lang=`), set on the
    agent's channel only.
    """
    language = request.query.get("lang", DEFAULT_LANGUAGE)
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    await request.send_command(commands.set_variable("CHANNEL(language)", language))
    transfers = await request.get_variable("TRANSFER_COUNT")
    name = f"whisper-transfer-{transfers}" if transfers in ("1", "2") else "whisper-hotline"
    await request.send_command(commands.stream_file(prompt_file(name)))


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
