"""Checks of identifiers callers give us: the organisation's INN and phone numbers."""

from __future__ import annotations

import phonenumbers

# The INN rule is the call context's too (core); tickets check it from here.
from core.inn import validate_inn

__all__ = ["normalise_phone", "validate_inn"]


def normalise_phone(value: str, region: str) -> str:
    """E.164 form of `value` read in `region` (RU by default), or ValueError."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"not a phone number: {value!r}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"not a valid phone number for region {region}: {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
