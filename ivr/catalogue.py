"""Every prompt Hotline plays, with its text per language (Russian first, English second).

A prompt is played as `hotline/<name>` (STREAM FILE) from `sounds/<lang>/`; the digits
0-9 are rendered as `digits/<d>` so that Asterisk's own SAY DIGITS speaks in our voice.
"""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
PROMPT_DIR = "hotline"
DIGIT_DIR = "digits"

PROMPTS: dict[str, dict[str, str]] = {
    "welcome": {
        "ru": "Здравствуйте! Вы позвонили на горячую линию технической поддержки.",
        "en": "Hello! You have reached the support hotline.",
    },
    "existing-uin-offer": {
        "ru": "Если у вас уже есть номер обращения, нажмите 1.",
        "en": "If you already have a request number, press 1.",
    },
    "existing-uin-enter": {
        "ru": "Введите номер обращения и нажмите решётку.",
        "en": "Enter your request number, then press the hash key.",
    },
    "uin-not-found": {
        "ru": "Обращение с таким номером не найдено.",
        "en": "We could not find a request with that number.",
    },
    "uin-attached": {
        "ru": "Ваш звонок добавлен к обращению.",
        "en": "Your call has been added to your request.",
    },
    "uin-intro": {
        "ru": "Номер вашего обращения:",
        "en": "Your request number is",
    },
    "uin-write-down": {
        "ru": "Пожалуйста, запишите его.",
        "en": "Please write it down.",
    },
    "uin-repeat-offer": {
        "ru": "Чтобы прослушать номер ещё раз, нажмите 1.",
        "en": "To hear the number again, press 1.",
    },
    "apology-no-uin": {
        "ru": "Приносим извинения: сейчас мы не можем назвать номер обращения. "
        "Оператор сообщит его вам.",
        "en": "We are sorry: we cannot give you a request number right now. "
        "The agent will tell you.",
    },
    "closed-hours": {
        "ru": "Горячая линия работает по рабочим дням с девяти до восемнадцати часов "
        "по московскому времени. Пожалуйста, позвоните в рабочее время.",
        "en": "The hotline is open on working days from 9 a.m. to 6 p.m. Moscow time. "
        "Please call again during those hours.",
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
    if name not in PROMPTS:
        raise KeyError(f"no prompt {name!r} in the catalogue")
    return f"{PROMPT_DIR}/{name}"


def all_sound_files() -> list[str]:
    """Every sound file one language needs: the prompts and the ten digits."""
    return [f"{PROMPT_DIR}/{n}" for n in PROMPTS] + [f"{DIGIT_DIR}/{d}" for d in "0123456789"]


def text_of(sound: str, language: str) -> str:
    folder, _, name = sound.partition("/")
    if folder == DIGIT_DIR:
        return DIGITS[language][name]
    return PROMPTS[name][language]
