"""Translations and the user's locale: gettext catalogues (`locale/<lang>/LC_MESSAGES/
messages.po`, compiled in memory at start-up with Babel), and Babel's dates and numbers.

Templates are written in English (`{{ _("Log in") }}`, `{% trans %}`); Russian is the
first language of the site (`HOTLINE_LANGUAGE`, default `ru`). To add a string: use it in
a template, add its `msgid`/`msgstr` to `locale/ru/LC_MESSAGES/messages.po` (or run
`pybabel extract -F crm/web/babel.cfg -o messages.pot crm/web` and `pybabel update`);
`tests/people/test_i18n.py` fails while a template's string has no Russian.
"""

from __future__ import annotations

import functools
import io
from datetime import datetime
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

LANGUAGES = ("ru", "en")
SOURCE_LANGUAGE = "en"


@functools.cache
def translations(language: str) -> NullTranslations:
    """The gettext translations of `language` (English, the templates' own, needs none)."""
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    po = resources.files("crm.web").joinpath(f"locale/{language}/LC_MESSAGES/messages.po")
    with po.open("rb") as source:
        catalogue = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled)


def catalogue_ids(language: str) -> set[str]:
    """The msgids translated (non-empty msgstr) in `language`'s catalogue."""
    po = resources.files("crm.web").joinpath(f"locale/{language}/LC_MESSAGES/messages.po")
    with po.open("rb") as source:
        catalogue = read_po(source, locale=language)
    return {str(m.id) for m in catalogue if m.id and m.string}


class Formats:
    """Dates, times and numbers for one language, times in the hotline's time zone."""

    def __init__(self, language: str, timezone: str) -> None:
        self.locale = language
        self.tz = ZoneInfo(timezone)

    def datetime(self, value: datetime | None, format: str = "short") -> str:
        return "" if value is None else format_datetime(value, format, self.tz, self.locale)

    def time(self, value: datetime | None, format: str = "short") -> str:
        return "" if value is None else format_time(value, format, self.tz, self.locale)

    def number(self, value: float | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, pattern, locale=self.locale)

    def percent(self, share: float | None, digits: int = 1) -> str:
        """`share` in 0..1 as a percentage (0.964 -> "96,4 %" in Russian)."""
        if share is None:
            return "—"
        # The locale's own pattern ("#,##0\xa0%" in Russian, "#,##0%" in English), with
        # `digits` decimals.
        pattern = Locale.parse(self.locale).percent_formats[None].pattern
        if digits:
            pattern = pattern.replace("0", "0." + "0" * digits, 1)
        return format_percent(share, pattern, locale=self.locale)


def pick_language(*choices: str | None) -> str:
    """The first of `choices` that is a language of the site (else Russian)."""
    for choice in choices:
        if choice in LANGUAGES:
            return choice
    return LANGUAGES[0]
