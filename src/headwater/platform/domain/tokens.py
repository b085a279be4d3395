"""API tokens: created by their user, shown once, stored as hashes, revoked by name or in bulk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from headwater.platform.auth.principal import Principal
from headwater.platform.auth.roles import Role
from headwater.platform.auth.tokens import API_TOKEN_PREFIX, hash_secret, new_secret
from headwater.platform.db.models import ApiToken, User
from headwater.platform.db.session import Database
from headwater.platform.errors import NotFound

LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    row: ApiToken
    token: str  # the token itself: shown once, never stored


class TokenService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def authenticate(self, token: str) -> Principal | None:
        """The principal of an API token, or None if no such token exists."""
        with self._db.session() as session:
            row = session.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == hash_secret(token))
            ).first()
            if row is None:
                return None
            api_token, user = row
            now = datetime.now(UTC)
            # Recorded at most once a minute: a write per request would serialize SQLite.
            if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_PRECISION:
                api_token.last_used_at = now
            return Principal(
                user.id, user.username, Role(user.role), "token", token_prefix=api_token.prefix
            )

    def list(self, user_id: int) -> list[ApiToken]:
        """A user's API tokens, oldest first (never the tokens themselves)."""
        with self._db.session() as session:
            query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
            return list(session.scalars(query))

    def create(self, user_id: int, name: str) -> NewToken:
        """A new API token acting as the user."""
        token = new_secret(API_TOKEN_PREFIX)
        row = ApiToken(
            user_id=user_id,
            name=name,
            prefix=token[: len(API_TOKEN_PREFIX) + 6],
            token_hash=hash_secret(token),
        )
        with self._db.session() as session:
            session.add(row)
            session.flush()
        return NewToken(row, token)

    def revoke(self, user_id: int, token_id: int, missing: str) -> None:
        """Revoke one of the user's tokens; ``missing`` is the answer when it has no such one."""
        with self._db.session() as session:
            row = session.get(ApiToken, token_id)
            if row is None or row.user_id != user_id:
                raise NotFound(missing)
            session.delete(row)

    def revoke_all(self, user_id: int) -> None:
        with self._db.session() as session:
            session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
