"""Long `IN (...)` lists cut into chunks that every database backend accepts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

IN_CHUNK = 500  # keys per IN (...) list: well under every backend's bound-parameter limit

T = TypeVar("T")


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]
