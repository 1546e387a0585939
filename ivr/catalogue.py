"""Every prompt Hotline plays, with its text per language (Russian first, English second).

A prompt is played as `hotline/<name>` (STREAM FILE) from `sounds/<lang>/`. The digits
0-9 are rendered too (`digits/<d>`), as the fallback for an Asterisk without its own
recorded digits in that language: SAY DIGITS uses Asterisk's `digits/<d>` where the core
sounds packages installed them (`asterisk-config/README.md`).
"""

from __future__ import annotations

from core.settings import CalendarSettings
from ivr.hours import closed_hours_text

LANGUAGES: tuple[str, ...] = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
PROMPT_DIR = "hotline"
DIGIT_DIR = "digits"
DEFAULT_HOURS = CalendarSettings.model_fields["hours"].default
DEFAULT_TIMEZONE = CalendarSettings.model_fields["timezone"].default
# Prompts on the caller's way to the queue, where every second counts: spoken faster and
# without espeak's trailing silence (`ivr.render`).
BRISK = frozenset({"welcome", "uin-menu"})
# Silences of ours (seconds), rendered like the prompts: `pause` separates the groups of
# a UIN's digits so that they can be heard as groups.
SILENCES: dict[str, float] = {"pause": 0.5}

PROMPTS: dict[str, dict[str, str]] = {
    # The first thing a caller hears, with the UIN's digits right after it (within 2 s of
    # the answer): the operator memo wants the request number at once.
    "welcome": {
        "ru": "Здравствуйте, ваш номер:",
        "en": "Hello! Your number is:",
    },
    # After the number, one short menu (2 s to answer): write it down, hear it again, or
    # give the number of a request the caller already has (the new UIN is then withdrawn).
    "uin-menu": {
        "ru": "Запишите номер. Повторить — 1, у вас уже есть номер — 2.",
        "en": "Write it down. To repeat, press 1. An earlier number? Press 2.",
    },
    "existing-uin-enter": {
        "ru": "Введите номер обращения и нажмите решётку.",
        "en": "Enter your request number, then press the hash key.",
    },
    "uin-not-found": {
        "ru": "Обращение с таким номером не найдено.",
        "en": "We could not find a request with that number.",
    },
    "uin-not-checked": {
        "ru": "Сейчас мы не можем проверить этот номер: назовите его оператору.",
        "en": "We cannot check that number right now: please tell it to the agent.",
    },
    "uin-attached": {
        "ru": "Ваш звонок добавлен к обращению:",
        "en": "Your call has been added to your request:",
    },
    "apology-no-uin": {
        "ru": "Приносим извинения: сейчас мы не можем назвать номер обращения. "
        "Оператор сообщит его вам.",
        "en": "We are sorry: we cannot give you a request number right now. "
        "The agent will tell you.",
    },
    # Built from HOTLINE_HOURS and HOTLINE_TIMEZONE (`ivr.hours`); here for the defaults,
    # `prompts_for` gives the site's own.
    "closed-hours": {
        language: closed_hours_text(language, DEFAULT_HOURS, DEFAULT_TIMEZONE)
        for language in LANGUAGES
    },
    # Before closed-hours on a day that is normally a working day: a holiday or a day the
    # supervisor closed.
    "closed-today": {
        "ru": "Сегодня нерабочий день.",
        "en": "Today is a non-working day.",
    },
    "please-wait": {
        "ru": "Пожалуйста, оставайтесь на линии, вам ответит первый освободившийся оператор.",
        "en": "Please stay on the line: the next available agent will answer.",
    },
    # The whisper (HOTLINE_WHISPER=on) is one file of at most ~2 s, in the agent's language:
    # the caller waits through it. The UIN is on the agent's screen pop.
    "whisper-hotline": {
        "ru": "Горячая линия.",
        "en": "Hotline call.",
    },
    "whisper-transfer-1": {
        "ru": "Перевод один из двух.",
        "en": "Transfer one of two.",
    },
    "whisper-transfer-2": {
        "ru": "Перевод два из двух.",
        "en": "Transfer two of two.",
    },
    "transfer-limit": {
        "ru": "Лимит переводов исчерпан: звонок нельзя перевести больше двух раз.",
        "en": "Transfer limit reached: a call cannot be transferred more than twice.",
    },
    "survey-solved": {
        "ru": "Удалось ли решить ваш вопрос? Нажмите 1, если да, или 2, если нет.",
        "en": "Was your problem solved? Press 1 for yes, or 2 for no.",
    },
    "survey-rate": {
        "ru": "Оцените, пожалуйста, работу оператора от одного до пяти.",
        "en": "Please rate the agent from one to five.",
    },
    "survey-invalid": {
        "ru": "Неверный ввод.",
        "en": "That is not a valid choice.",
    },
    "survey-thanks": {
        "ru": "Спасибо за оценку! До свидания.",
        "en": "Thank you for your rating! Goodbye.",
    },
    "agent-logged-in": {
        "ru": "Вы вошли в очередь.",
        "en": "You are logged in to the queue.",
    },
    "agent-logged-out": {
        "ru": "Вы вышли из очереди.",
        "en": "You are logged out of the queue.",
    },
    "agent-paused": {
        "ru": "Пауза включена.",
        "en": "You are paused.",
    },
    "agent-unpaused": {
        "ru": "Пауза снята.",
        "en": "You are available again.",
    },
    "agent-failed": {
        "ru": "Не удалось выполнить команду.",
        "en": "The command failed.",
    },
}

DIGITS: dict[str, dict[str, str]] = {
    "ru": dict(
        zip(
            "0123456789",
            ["ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"],
            strict=True,
        )
    ),
    "en": dict(
        zip(
            "0123456789",
            ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
            strict=True,
        )
    ),
}


def prompt_file(name: str) -> str:
    """The name to give STREAM FILE for prompt `name` (no extension, as Asterisk wants)."""
    if name not in PROMPTS and name not in SILENCES:
        raise KeyError(f"no prompt {name!r} in the catalogue")
    return f"{PROMPT_DIR}/{name}"


def prompts_for(calendar: CalendarSettings | None) -> dict[str, dict[str, str]]:
    """The catalogue with the closed-hours prompt of `calendar` (the defaults' if None)."""
    if calendar is None:
        return PROMPTS
    closed = {
        language: closed_hours_text(language, calendar.hours, calendar.timezone)
        for language in LANGUAGES
    }
    return {**PROMPTS, "closed-hours": closed}


def all_sound_files() -> list[str]:
    """Every sound file one language needs: the prompts, the silences and the ten digits."""
    return (
        [f"{PROMPT_DIR}/{n}" for n in PROMPTS]
        + [f"{PROMPT_DIR}/{n}" for n in SILENCES]
        + [f"{DIGIT_DIR}/{d}" for d in "0123456789"]
    )


def text_of(sound: str, language: str, prompts: dict[str, dict[str, str]] | None = None) -> str:
    """The text of `sound` (`hotline/<name>` or `digits/<d>`); a silence has none ("")."""
    folder, _, name = sound.partition("/")
    if folder == DIGIT_DIR:
        return DIGITS[language][name]
    if name in SILENCES:
        return ""
    return (prompts or PROMPTS)[name][language]
