"""Domain errors of the CRM: each says what is wrong; the API maps them to HTTP statuses."""

from __future__ import annotations


class CrmError(Exception):
    """Base of every CRM domain error."""


class NotFound(CrmError):
    pass


class TicketNotFound(NotFound):
    def __init__(self, uin: str) -> None:
        super().__init__(f"no ticket with UIN {uin}")
        self.uin = uin


class CallNotFound(NotFound):
    """No such call: a Linkedid the CRM does not know (or one that has ended, for a
    transfer). `message` keeps each caller's wording of it."""

    def __init__(self, linkedid: str, message: str = "") -> None:
        super().__init__(message or f"no call with linkedid {linkedid}")
        self.linkedid = linkedid


class Conflict(CrmError):
    pass


class IllegalTransition(Conflict):
    def __init__(self, old: str, new: str, why: str) -> None:
        super().__init__(f"illegal transition {old} -> {new}: {why}")
        self.old, self.new, self.why = old, new, why


class CallOnAnotherTicket(Conflict):
    def __init__(self, linkedid: str, uin: str) -> None:
        super().__init__(f"call {linkedid} is already recorded on ticket {uin}")


class InvalidClassification(CrmError):
    """Category and priority that Table 2 of the regulation does not allow together."""

    def __init__(self, message: str, fields: tuple[str, ...] = ("category", "priority")) -> None:
        super().__init__(message)
        self.fields = fields


class UinSpaceExhausted(CrmError):
    def __init__(self, digits: int) -> None:
        super().__init__(f"every {digits}-digit UIN has been used; raise HOTLINE_UIN_DIGITS")


class UinNotReserved(CrmError):
    def __init__(self, uin: str) -> None:
        super().__init__(f"UIN {uin} was not reserved: only reserved UINs can be given")
        self.uin = uin
