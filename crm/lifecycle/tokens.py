"""Signed confirmation links: the token in the e-mail is the caller's only credential."""

from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from crm.lifecycle.errors import LinkExpired, LinkInvalid, NotConfigured

_SALT = "hotline-confirm-solution"


class ConfirmationTokens:
    """Issue and read tokens naming a ticket's resolution; expiry is checked against `now`.

    The expiry is inside the signed payload (not itsdangerous' wall-clock timestamp) so the
    injected clock of the service decides, as for every other period.
    """

    def __init__(self, secret_key: str, max_age: timedelta) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt=_SALT) if secret_key else None
        self.max_age = max_age

    @property
    def configured(self) -> bool:
        return self._serializer is not None

    def _require(self) -> URLSafeSerializer:
        if self._serializer is None:
            raise NotConfigured(
                "HOTLINE_SECRET_KEY is not set: confirmation links cannot be signed"
            )
        return self._serializer

    def issue(self, uin: str, resolved_at: datetime, now: datetime) -> str:
        expires = int((now + self.max_age).timestamp())
        return self._require().dumps(
            {"uin": uin, "resolved": resolved_at.isoformat(), "exp": expires}
        )

    def read(self, token: str, now: datetime) -> tuple[str, datetime]:
        """(uin, resolved_at) of a valid token; `LinkInvalid` or `LinkExpired` otherwise."""
        try:
            payload = self._require().loads(token)
            uin, resolved, expires = payload["uin"], payload["resolved"], payload["exp"]
            resolved_at = datetime.fromisoformat(resolved)
        except (BadSignature, KeyError, TypeError, ValueError):
            raise LinkInvalid() from None
        if now.timestamp() > expires:
            raise LinkExpired()
        return str(uin), resolved_at
