"""How a UIN is read to a caller: the digits in groups, so it can be written down."""

from __future__ import annotations


def group_digits(uin: str, size: int = 4) -> list[str]:
    """Split `uin` into groups of `size`, the first group taking any remainder.

    >>> group_digits("00012345")
    ['0001', '2345']
    >>> group_digits("1234567890", size=3)
    ['1', '234', '567', '890']
    """
    if not uin.isdigit():
        raise ValueError(f"a UIN is digits only, got {uin!r}")
    if size < 1:
        raise ValueError("group size must be at least 1")
    head = len(uin) % size
    groups = [uin[:head]] if head else []
    groups += [uin[i : i + size] for i in range(head, len(uin), size)]
    return groups
