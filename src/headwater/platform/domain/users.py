"""Users and their roles: names unique ignoring case, passwords by the rule in
``auth/passwords.py``, and always at least one admin."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from headwater.platform.auth.passwords import hash_password, password_problem, verify_password
from headwater.platform.auth.principal import Principal
from headwater.platform.auth.roles import Role
from headwater.platform.db.models import ApiToken, LoginSession, User
from headwater.platform.db.session import Database
from headwater.platform.errors import Conflict, Invalid, NotFound


class UserService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self) -> list[User]:
        with self._db.session() as session:
            return list(session.scalars(select(User).order_by(User.username)))

    def get(self, user_id: int) -> User:
        with self._db.session() as session:
            return _user(session, user_id)

    def create(self, username: str, password: str, role: Role) -> User:
        check_password(password, username)
        with self._db.session() as session:
            same = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
            if same is not None:
                raise Conflict(
                    f"a user named {same.username!r} exists already (names are unique ignoring "
                    "case)",
                    [{"field": "username", "message": "taken"}],
                )
            user = User(username=username, password_hash=hash_password(password), role=role)
            session.add(user)
            session.flush()
            return user

    def update(
        self, user_id: int, acting: Principal, role: Role | None, password: str | None
    ) -> User:
        """Change a user's role or password; a new password ends the user's sessions and
        revokes their API tokens."""
        with self._db.session() as session:
            user = _user(session, user_id)
            if role is not None and role != user.role and user.id == acting.user_id:
                # As with deleting: an admin who demoted themselves could not undo it.
                raise Conflict("you cannot change your own role; ask another admin")
            if password is not None:
                check_password(password, user.username)
            if role is not None and role != Role.admin and user.role == Role.admin:
                _keep_an_admin(session, user, "demote")
            if role is not None:
                user.role = role
            if password is not None:
                user.password_hash = hash_password(password)
                session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
                session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
            return user

    def delete(self, user_id: int, acting: Principal) -> None:
        with self._db.session() as session:
            user = _user(session, user_id)
            if user.id == acting.user_id:
                raise Conflict("you cannot delete yourself; ask another admin")
            if user.role == Role.admin:
                _keep_an_admin(session, user, "delete")
            session.delete(user)

    def check_login(self, username: str, password: str) -> User | None:
        """The user whose name (in any case) and password these are, or None."""
        with self._db.session() as session:
            user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
            if not verify_password(user.password_hash if user else None, password):
                return None
            return user

    def change_own_password(self, acting: Principal, current: str, new: str) -> bool:
        """Change one's own password (False if ``current`` is wrong): the user's other sessions
        end and their API tokens are revoked (whoever knew the old password may have made one)."""
        with self._db.session() as session:
            user = session.get(User, acting.user_id)
            assert user is not None
            if not verify_password(user.password_hash, current):
                return False
            user.password_hash = hash_password(new)
            query = delete(LoginSession).where(LoginSession.user_id == user.id)
            if acting.session_id is not None:
                query = query.where(LoginSession.id != acting.session_id)
            session.execute(query)
            session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        return True


def check_password(password: str, username: str, field: str = "password") -> None:
    """Refuse a password that breaks the rule, naming ``field``."""
    problem = password_problem(password, username)
    if problem:
        raise Invalid(f"{field} {problem}", [{"field": field, "message": problem}])


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _keep_an_admin(session: Session, user: User, action: str) -> None:
    admins = session.scalar(select(func.count()).select_from(User).where(User.role == Role.admin))
    if (admins or 0) <= 1:
        raise Conflict(
            f"cannot {action} {user.username!r}: it is the last admin; make another first"
        )
