"""The dashboard's session: a signed cookie naming the API key it was opened with.

The cookie carries the key's id (never the key) and a CSRF token, signed with the instance's secret
(``itsdangerous``: tamper-evident, not encrypted: nothing in it is secret from its holder). Its
signature carries the time it was issued; a cookie older than the idle time is refused, and each
page re-issues it once it is a minute old, so the session lasts while it is used. The key is
looked up again on every request, so revoking it ends every session opened with it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.db import utcnow

SESSION_COOKIE = "cf_session"
_SALT = "callfunnel.dashboard.session"
# How old a cookie gets before a request re-issues it: one Set-Cookie a minute, not per request.
REISSUE_AFTER = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class DashboardSession:
    """``key_id`` is None before sign-in: the sign-in form needs a CSRF token too."""

    csrf: str
    key_id: str | None = None

    @classmethod
    def anonymous(cls) -> DashboardSession:
        return cls(csrf=secrets.token_urlsafe(32))

    @classmethod
    def signed_in(cls, key_id: str) -> DashboardSession:
        # A new CSRF token with every sign-in: a token seen before it proves nothing after it.
        return cls(csrf=secrets.token_urlsafe(32), key_id=key_id)


@dataclass(frozen=True, slots=True)
class ReadSession:
    session: DashboardSession
    age: timedelta


class SessionSigner:
    def __init__(self, secret: str, idle: timedelta) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.idle = idle

    def dumps(self, session: DashboardSession) -> str:
        payload = (
            {"c": session.csrf}
            if session.key_id is None
            else {"c": session.csrf, "k": session.key_id}
        )
        return self._serializer.dumps(payload)

    def loads(self, token: str) -> ReadSession | None:
        """The session of a cookie, or None when it is forged, malformed or idle too long."""
        try:
            payload, issued = self._serializer.loads(
                token, max_age=int(self.idle.total_seconds()), return_timestamp=True
            )
        except BadSignature:  # SignatureExpired is one
            return None
        if not isinstance(payload, dict):
            return None
        csrf, key_id = payload.get("c"), payload.get("k")
        if not isinstance(csrf, str) or not (key_id is None or isinstance(key_id, str)):
            return None
        return ReadSession(DashboardSession(csrf=csrf, key_id=key_id), utcnow() - issued)
