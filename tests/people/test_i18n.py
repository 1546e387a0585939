"""Every string of every template has its Russian; dates and numbers follow the locale."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

from babel.messages.extract import extract
from jinja2.ext import babel_extract

from crm.web.i18n import Formats, catalogue_ids, translations
from crm.web.templates import NAV


def template_messages() -> dict[str, str]:
    """msgid -> the template it appears in, for every template of the package."""
    found: dict[str, str] = {}
    folder = resources.files("crm.web").joinpath("templates")
    stack = [folder]
    while stack:
        for entry in stack.pop().iterdir():
            if entry.is_dir():
                stack.append(entry)
            elif entry.name.endswith(".html"):
                with entry.open("rb") as source:
                    for _line, message, _comments, _context in extract(
                        babel_extract, source, options={"extensions": "jinja2.ext.i18n"}
                    ):
                        found[message if isinstance(message, str) else message[0]] = entry.name
    return found


def test_every_template_string_and_menu_entry_has_its_russian() -> None:
    messages = template_messages()
    assert "Log in" in messages, "the extractor reads the templates"
    wanted = set(messages) | {item.label for item in NAV}
    missing = sorted(wanted - catalogue_ids("ru"))
    assert missing == [], f"add these to crm/web/locale/ru/LC_MESSAGES/messages.po: {missing}"


def test_translations_are_loaded_from_the_catalogue() -> None:
    assert translations("ru").gettext("Log out") == "Выйти"
    assert translations("en").gettext("Log out") == "Log out"


def test_dates_and_numbers_in_the_locale_and_the_hotline_time_zone() -> None:
    at = datetime(2026, 12, 7, 6, 5, 9, tzinfo=UTC)
    ru, en = Formats("ru", "Europe/Moscow"), Formats("en", "Europe/Moscow")
    assert ru.time(at) == "09:05"
    assert ru.percent(0.9641) == "96,4\xa0%"
    assert en.percent(0.9641) == "96.4%"
    assert ru.number(12345.5, 1) == "12\xa0345,5"
    assert en.number(12345.5, 1) == "12,345.5"
    assert ru.datetime(at).startswith("07.12.2026")
