"""The organisation's INN (Russian taxpayer number): its form and its FNS check digits."""

from __future__ import annotations

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
