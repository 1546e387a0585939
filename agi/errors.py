"""Errors of the FastAGI server: what went wrong with one AGI call."""


class AgiError(Exception):
    """An AGI conversation with Asterisk failed."""


class AgiHangup(AgiError):
    """The caller hung up or the channel is gone: the route should just end."""


class AgiTimeout(AgiError):
    """Asterisk did not answer a command within the command timeout."""


class AgiBadRequest(AgiError):
    """What the client sent is not a FastAGI environment (garbage, too long, cut short)."""


class AgiProtocolError(AgiError):
    """Asterisk answered a command with something that is not an AGI reply."""
