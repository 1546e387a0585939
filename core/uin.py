"""A UIN as people type and hear it: the short form (no padding zeros) and the canonical one.

The canonical UIN is zero-padded to `HOTLINE_UIN_DIGITS` (`00000208`): it is what the
database keeps and what e-mail subjects carry (`[#00000208]`). A caller hears the short
form ("208": the padding zeros cost seconds and carry nothing) and may type or say it back
that way, so every lookup goes through `canonical_uin`, which accepts either form.
"""

from __future__ import annotations


class InvalidUin(ValueError):
    """Typed text that cannot be a UIN; the message says why."""


def canonical_uin(typed: str, digits: int) -> str:
    """The canonical UIN of `typed`: digits only (spaces, dashes and a leading `#` allowed
    between them), zero-filled to `digits`.

    >>> canonical_uin("208", 8)
    '00000208'
    >>> canonical_uin("12 345", 8)
    '00012345'
    >>> canonical_uin("#00000208", 8)
    '00000208'
    """
    text = typed.strip().removeprefix("#")
    compact = "".join(ch for ch in text if ch not in " -")
    if not compact:
        raise InvalidUin("a UIN is required: got nothing")
    if not compact.isascii() or not compact.isdigit():
        raise InvalidUin(f"a UIN is digits only, got {typed!r}")
    if len(compact) > digits:
        significant = compact.lstrip("0") or "0"
        if len(significant) > digits:
            raise InvalidUin(f"a UIN has at most {digits} digits, got {len(significant)}")
        compact = significant
    return compact.zfill(digits)


def short_uin(uin: str) -> str:
    """The form a caller hears: the canonical UIN without its padding zeros.

    >>> short_uin("00000208")
    '208'
    """
    if not uin.isascii() or not uin.isdigit():
        raise InvalidUin(f"a UIN is digits only, got {uin!r}")
    return uin.lstrip("0") or "0"


def spoken_groups(uin: str, size: int = 3) -> list[str]:
    """The short form in groups of `size` from the right, as a caller writes it down.

    >>> spoken_groups("00012345")
    ['12', '345']
    >>> spoken_groups("00000208")
    ['208']
    """
    if size < 1:
        raise ValueError("group size must be at least 1")
    short = short_uin(uin)
    head = len(short) % size
    groups = [short[:head]] if head else []
    groups += [short[i : i + size] for i in range(head, len(short), size)]
    return groups
