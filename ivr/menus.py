"""The IVR's menus: the prompt a caller hears, how long it waits for keys, how many it takes."""

from __future__ import annotations

from dataclasses import dataclass

YES = "1"  # the key that takes an offer
# A caller who mistypes their request's number gets one more try.
UIN_ENTRY_ATTEMPTS = 2


@dataclass(frozen=True)
class Menu:
    """A prompt that waits for keys: `max_digits` of them, or `#`, or `timeout_ms` of silence."""

    prompt: str
    timeout_ms: int
    max_digits: int


EXISTING_UIN_OFFER = Menu("existing-uin-offer", timeout_ms=3000, max_digits=1)
REPEAT_OFFER = Menu("uin-repeat-offer", timeout_ms=3000, max_digits=1)


def uin_entry(uin_digits: int) -> Menu:
    """Typing an existing request's number, `uin_digits` long (`#` ends a shorter one)."""
    return Menu("existing-uin-enter", timeout_ms=10000, max_digits=uin_digits)
