"""The closed-hours prompt's text, built from `HOTLINE_HOURS` and `HOTLINE_TIMEZONE`.

`mon-fri 09:00-18:00` in Europe/Moscow reads "с понедельника по пятницу с девяти до
восемнадцати часов по московскому времени" / "Monday to Friday, 9:00 to 18:00, Moscow
time". The Russian numbers are written out in the genitive case ("с девяти"), which a
speech engine does not do for figures. Days with the same hours are read together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from core.calendar import WeekHours, parse_hours

_GENITIVE_UNITS = (
    "ноля",
    "одного",
    "двух",
    "трёх",
    "четырёх",
    "пяти",
    "шести",
    "семи",
    "восьми",
    "девяти",
    "десяти",
    "одиннадцати",
    "двенадцати",
    "тринадцати",
    "четырнадцати",
    "пятнадцати",
    "шестнадцати",
    "семнадцати",
    "восемнадцати",
    "девятнадцати",
)
_GENITIVE_TENS = {2: "двадцати", 3: "тридцати", 4: "сорока", 5: "пятидесяти"}
# "с понедельника" (from: genitive), "по пятницу" (to: accusative), "в пятницу" (one day).
_DAYS_FROM = (
    "понедельника",
    "вторника",
    "среды",
    "четверга",
    "пятницы",
    "субботы",
    "воскресенья",
)
_DAYS_TO = ("понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье")
_DAYS_ON = ("в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу",
            "в воскресенье")  # fmt: skip
_DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Time zones said by their city's adjective; any other by its offset from UTC.
_ZONES_RU = {
    "Europe/Moscow": "по московскому времени",
    "Europe/Kaliningrad": "по калининградскому времени",
    "Europe/Samara": "по самарскому времени",
    "Asia/Yekaterinburg": "по екатеринбургскому времени",
    "Asia/Omsk": "по омскому времени",
    "Asia/Novosibirsk": "по новосибирскому времени",
    "Asia/Krasnoyarsk": "по красноярскому времени",
    "Asia/Irkutsk": "по иркутскому времени",
    "Asia/Yakutsk": "по якутскому времени",
    "Asia/Vladivostok": "по владивостокскому времени",
    "Asia/Magadan": "по магаданскому времени",
    "Asia/Kamchatka": "по камчатскому времени",
}
_ZONES_EN = {zone: zone.rsplit("/", 1)[1] + " time" for zone in _ZONES_RU}


def genitive_number(n: int) -> str:
    """0-59 in Russian, genitive ("с девяти", "до двадцати трёх")."""
    if not 0 <= n <= 59:
        raise ValueError(f"{n} is not a number of hours or minutes")
    if n < 20:
        return _GENITIVE_UNITS[n]
    tens, units = divmod(n, 10)
    return _GENITIVE_TENS[tens] + ("" if units == 0 else " " + _GENITIVE_UNITS[units])


def _time_ru(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    text = genitive_number(hours)
    if minutes:
        text += " " + (
            "ноль " + genitive_number(minutes) if minutes < 10 else genitive_number(minutes)
        )
    return text


def _time_en(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours}:{minutes:02d}"


def _day_groups(week: WeekHours) -> list[tuple[int, int, tuple[tuple[int, int], ...]]]:
    """Runs of consecutive days with the same hours: (first day, last day, intervals)."""
    groups: list[tuple[int, int, tuple[tuple[int, int], ...]]] = []
    for day, intervals in enumerate(week):
        if not intervals:
            continue
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == intervals:
            first, _, same = groups[-1]
            groups[-1] = (first, day, same)
        else:
            groups.append((day, day, intervals))
    return groups


def _offset_hours(timezone: str) -> str:
    offset = datetime.now(UTC).astimezone(ZoneInfo(timezone)).utcoffset()
    total_min = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if total_min >= 0 else "-"
    hours, minutes = divmod(abs(total_min), 60)
    return f"{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def hours_text(language: str, hours: str, timezone: str) -> str:
    """When the hotline is open, as the closed-hours prompt says it in `language`."""
    groups = _day_groups(parse_hours(hours))
    if language == "ru":
        zone = _ZONES_RU.get(timezone) or f"по времени UTC {_offset_hours(timezone)}"
        if len(groups) == 1 and groups[0][:2] == (0, 6) and groups[0][2] == ((0, 86400),):
            return "Горячая линия работает круглосуточно."
        parts = []
        for first, last, intervals in groups:
            if first == last:
                days = _DAYS_ON[first]
            elif (first, last) == (0, 6):
                days = "ежедневно"
            else:
                days = f"с {_DAYS_FROM[first]} по {_DAYS_TO[last]}"
            spans = " и ".join(
                f"с {_time_ru(start)} до {_time_ru(end)}" for start, end in intervals
            )
            parts.append(f"{days} {spans} часов")
        return f"Горячая линия работает {', '.join(parts)} {zone}, кроме праздничных дней."
    if language == "en":
        zone = _ZONES_EN.get(timezone) or f"UTC {_offset_hours(timezone)}"
        if len(groups) == 1 and groups[0][:2] == (0, 6) and groups[0][2] == ((0, 86400),):
            return "The hotline is open around the clock."
        parts = []
        for first, last, intervals in groups:
            if first == last:
                days = f"on {_DAYS_EN[first]}"
            elif (first, last) == (0, 6):
                days = "every day"
            else:
                days = f"{_DAYS_EN[first]} to {_DAYS_EN[last]}"
            spans = " and ".join(
                f"{_time_en(start)} to {_time_en(end)}" for start, end in intervals
            )
            parts.append(f"{days}, {spans}")
        return f"The hotline is open {'; '.join(parts)}, {zone}, except public holidays."
    raise ValueError(f"no hours text for language {language!r}")


def closed_hours_text(language: str, hours: str, timezone: str) -> str:
    """The whole closed-hours prompt: the hours and a request to call back."""
    call_back = {
        "ru": "Пожалуйста, позвоните в рабочее время.",
        "en": "Please call again during those hours.",
    }
    return f"{hours_text(language, hours, timezone)} {call_back[language]}"


__all__ = ["closed_hours_text", "genitive_number", "hours_text"]
