"""The IVR's menus: the prompt a caller hears, how long it waits for keys, how many it takes."""

from __future__ import annotations

from dataclasses import dataclass

REPEAT = "1"  # after the UIN: hear it again
EXISTING = "2"  # after the UIN: give the number of a request the caller already has
# A caller who mistypes their request's number gets one more try.
UIN_ENTRY_ATTEMPTS = 2
# How many times the number is read again on request (then the caller goes on).
MAX_REPEATS = 2


@dataclass(frozen=True)
class Menu:
    """A prompt that waits for keys: `max_digits` of them, or `#`, or `timeout_ms` of silence."""

    prompt: str
    timeout_ms: int
    max_digits: int


# Short: a caller who presses nothing goes on to the queue 2 s after the prompt ends.
UIN_MENU = Menu("uin-menu", timeout_ms=2000, max_digits=1)


def uin_entry(uin_digits: int) -> Menu:
    """Typing an existing request's number, up to `uin_digits` long (`#` ends a shorter one:
    the short form "208" is enough)."""
    return Menu("existing-uin-enter", timeout_ms=10000, max_digits=uin_digits)
