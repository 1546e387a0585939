"""Text from outside (callers, Asterisk, API clients) checked or cleaned at the edge.

A NUL byte or another control character in a caller's name, or a lone surrogate in a
JSON body, cannot be stored (PostgreSQL refuses NUL in text; UTF-8 has no surrogates)
and has no business in a ticket. Where the text comes from a machine we do not control
(the AGI environment, AMI events), it is cleaned; where a client sends it to our API, it
is refused with 422 naming the field, so that the client learns what was wrong.

>>> clean_text("Ива\\x00нов\\tИ.")
'Иванов\\tИ.'
>>> text_problem("ok\\nline two") is None
True
>>> text_problem("a\\x00b")
'contains the control character U+0000'
>>> text_problem("\\ud800")
'contains a lone surrogate (U+D800), which is not text'
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationInfo, field_validator

# C0 and C1 controls and DEL, but for tab, line feed and carriage return (text may have
# lines); lone surrogates (JSON can spell them, UTF-8 cannot hold them).
UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: str) -> str:
    """`value` without control characters (tab and newlines kept) or lone surrogates."""
    return UNWANTED.sub("", value)


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    found = UNWANTED.search(value)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return f"contains a lone surrogate (U+{code:04X}), which is not text"
    return f"contains the control character U+{code:04X}"


def first_problem(value: Any) -> str | None:
    """`text_problem` of the first bad string anywhere in `value` (lists, dicts, keys)."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    else:
        return None
    for item in items:
        if problem := first_problem(item):
            return problem
    return None


class PlainTextModel(BaseModel):
    """A request body whose every string (nested ones too) is storable text, else 422."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any, info: ValidationInfo) -> Any:
        if problem := first_problem(value):
            raise ValueError(f"{info.field_name} {problem}")
        return value
