"""Login sessions: a cookie and a CSRF token per login, stored as a hash and the token."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from headwater.platform.auth.principal import Principal
from headwater.platform.auth.roles import Role
from headwater.platform.auth.tokens import hash_secret, new_secret
from headwater.platform.db.models import LoginSession, User
from headwater.platform.db.session import Database


class SessionExpired(Exception):
    """The cookie names no session, or one that has expired."""


class CsrfMismatch(Exception):
    """A write came with the session cookie but without the session's CSRF token."""


@dataclass(frozen=True)
class OpenedSession:
    cookie: str
    csrf_token: str
    expires_at: datetime


class SessionService:
    def __init__(self, db: Database, hours: float) -> None:
        self._db = db
        self._hours = hours

    def open(self, user_id: int) -> OpenedSession:
        cookie, csrf = new_secret(), new_secret()
        expires = datetime.now(UTC) + timedelta(hours=self._hours)
        with self._db.session() as session:
            session.add(
                LoginSession(
                    token_hash=hash_secret(cookie),
                    csrf_token=csrf,
                    user_id=user_id,
                    expires_at=expires,
                )
            )
            # Expired sessions of this user go now, so the table does not grow without end.
            session.execute(
                delete(LoginSession).where(
                    LoginSession.user_id == user_id, LoginSession.expires_at <= datetime.now(UTC)
                )
            )
        return OpenedSession(cookie, csrf, expires)

    def close(self, session_id: int) -> None:
        with self._db.session() as session:
            session.execute(delete(LoginSession).where(LoginSession.id == session_id))

    def authenticate(self, cookie: str, csrf_token: str | None) -> Principal:
        """The principal of a session cookie; ``csrf_token`` is checked unless it is None
        (a request that changes nothing)."""
        with self._db.session() as session:
            row = session.execute(
                select(LoginSession, User)
                .join(User, User.id == LoginSession.user_id)
                .where(LoginSession.token_hash == hash_secret(cookie))
            ).first()
            if row is None or row[0].expires_at <= datetime.now(UTC):
                raise SessionExpired
            login, user = row
            if csrf_token is not None and not hmac.compare_digest(
                csrf_token.encode(), login.csrf_token.encode()
            ):
                raise CsrfMismatch
            return Principal(user.id, user.username, Role(user.role), "session", login.id)
