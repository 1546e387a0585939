"""Checks of identifiers callers give us: the organisation's INN and phone numbers."""

from __future__ import annotations

import phonenumbers
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength
from stdnum.ru import inn as stdnum_inn

INN_RULE = "an INN has 10 (organisation) or 12 (individual) digits with valid FNS check digits"


def validate_inn(value: str) -> str:
    """Return the INN in compact form, or raise ValueError naming the rule broken."""
    try:
        return stdnum_inn.validate(value)
    except InvalidChecksum:
        raise ValueError(f"INN check digits do not match: {INN_RULE}") from None
    except (InvalidLength, InvalidFormat):
        raise ValueError(f"INN is not 10 or 12 digits: {INN_RULE}") from None


def normalise_phone(value: str, region: str) -> str:
    """E.164 form of `value` read in `region` (RU by default), or ValueError."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"not a phone number: {value!r}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"not a valid phone number for region {region}: {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
