"""Users and their roles, and their API tokens (admin only).

User names are unique ignoring case (``Ann`` and ``ann`` are one user) and passwords follow the
rule in ``auth/passwords.py``.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from headwater.platform.api.auth import TokenOut, _token_out
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import OkOut, RowId, UserOut, described_pattern
from headwater.platform.auth.dependencies import Admin, secured
from headwater.platform.auth.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    hash_password,
    password_problem,
)
from headwater.platform.auth.roles import Role
from headwater.platform.context import Context
from headwater.platform.db.models import ApiToken, LoginSession, User
from headwater.platform.errors import Conflict, Invalid, NotFound

router = APIRouter(prefix="/api/users", tags=["users"], responses=ERROR_RESPONSES)
USERNAME = described_pattern(
    r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$",
    "letters, digits and . _ @ -, starting with a letter or digit (at most 64)",
)


PASSWORD_HELP = f"at least {MIN_LENGTH} characters, not easy to guess"


class UserIn(BaseModel):
    username: str = Field(
        pattern=USERNAME, description="letters, digits and . _ @ -; unique ignoring case"
    )
    password: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH, description=PASSWORD_HELP)
    role: Role = Role.viewer


class UserPatch(BaseModel):
    role: Role | None = None
    password: str | None = Field(
        default=None, min_length=MIN_LENGTH, max_length=MAX_LENGTH, description=PASSWORD_HELP
    )


def _check_password(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem:
        raise Invalid(f"password {problem}", [{"field": "password", "message": problem}])


@router.get("", response_model=list[UserOut], **secured(Role.admin))
def list_users(context: Context) -> list[UserOut]:
    with context.db.session() as session:
        return [UserOut.of(u) for u in session.scalars(select(User).order_by(User.username))]


@router.post("", response_model=UserOut, status_code=201, **secured(Role.admin))
def create_user(body: UserIn, context: Context) -> UserOut:
    _check_password(body.password, body.username)
    with context.db.session() as session:
        same = session.scalar(
            select(User).where(func.lower(User.username) == body.username.lower())
        )
        if same is not None:
            raise Conflict(
                f"a user named {same.username!r} exists already (names are unique ignoring case)",
                [{"field": "username", "message": "taken"}],
            )
        user = User(
            username=body.username, password_hash=hash_password(body.password), role=body.role
        )
        session.add(user)
        session.flush()
        return UserOut.of(user)


@router.patch("/{user_id}", response_model=UserOut, **secured(Role.admin))
def update_user(
    user_id: RowId,
    body: UserPatch,
    principal: Admin,
    context: Context,
) -> UserOut:
    """Change a user's role or password; a new password ends the user's sessions and revokes
    their API tokens."""
    with context.db.session() as session:
        user = _user(session, user_id)
        if body.role is not None and body.role != user.role and user.id == principal.user_id:
            # As with deleting: an admin who demoted themselves could not undo it.
            raise Conflict("you cannot change your own role; ask another admin")
        if body.password is not None:
            _check_password(body.password, user.username)
        if body.role is not None and body.role != Role.admin and user.role == Role.admin:
            _keep_an_admin(session, user, "demote")
        if body.role is not None:
            user.role = body.role
        if body.password is not None:
            user.password_hash = hash_password(body.password)
            session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
            session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        return UserOut.of(user)


@router.delete("/{user_id}", response_model=OkOut, **secured(Role.admin))
def delete_user(
    user_id: RowId,
    principal: Admin,
    context: Context,
) -> OkOut:
    with context.db.session() as session:
        user = _user(session, user_id)
        if user.id == principal.user_id:
            raise Conflict("you cannot delete yourself; ask another admin")
        if user.role == Role.admin:
            _keep_an_admin(session, user, "delete")
        session.delete(user)
    return OkOut()


@router.get("/{user_id}/tokens", response_model=list[TokenOut], **secured(Role.admin))
def list_user_tokens(user_id: RowId, context: Context) -> list[TokenOut]:
    """A user's API tokens (never the tokens themselves)."""
    with context.db.session() as session:
        _user(session, user_id)
        rows = session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
        )
        return [_token_out(t) for t in rows]


@router.delete("/{user_id}/tokens/{token_id}", response_model=OkOut, **secured(Role.admin))
def revoke_user_token(user_id: RowId, token_id: RowId, context: Context) -> OkOut:
    """Revoke one of a user's API tokens (a leaked one, or one of a person who left)."""
    with context.db.session() as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.user_id != user_id:
            raise NotFound(f"user {user_id} has no API token {token_id}")
        session.delete(row)
    return OkOut()


@router.delete("/{user_id}/tokens", response_model=OkOut, **secured(Role.admin))
def revoke_user_tokens(user_id: RowId, context: Context) -> OkOut:
    """Revoke every API token of a user."""
    with context.db.session() as session:
        _user(session, user_id)
        session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    return OkOut()


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
