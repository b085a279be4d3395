"""Users and their roles (admin only)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import OkOut, RowId, UserOut
from headwater.platform.auth.dependencies import Admin, secured
from headwater.platform.auth.passwords import MIN_LENGTH, hash_password
from headwater.platform.auth.roles import Role
from headwater.platform.context import Context
from headwater.platform.db.models import LoginSession, User
from headwater.platform.errors import Conflict, NotFound

router = APIRouter(prefix="/api/users", tags=["users"], responses=ERROR_RESPONSES)
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"


class UserIn(BaseModel):
    username: str = Field(pattern=USERNAME, description="letters, digits and . _ @ -")
    password: str = Field(min_length=MIN_LENGTH, max_length=1024)
    role: Role = Role.viewer


class UserPatch(BaseModel):
    role: Role | None = None
    password: str | None = Field(default=None, min_length=MIN_LENGTH, max_length=1024)


@router.get("", response_model=list[UserOut], **secured(Role.admin))
def list_users(context: Context) -> list[UserOut]:
    with context.db.session() as session:
        return [UserOut.of(u) for u in session.scalars(select(User).order_by(User.username))]


@router.post("", response_model=UserOut, status_code=201, **secured(Role.admin))
def create_user(body: UserIn, context: Context) -> UserOut:
    with context.db.session() as session:
        if session.scalar(select(User).where(User.username == body.username)):
            raise Conflict(f"a user named {body.username!r} exists already")
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
    """Change a user's role or password; a new password ends the user's sessions."""
    with context.db.session() as session:
        user = _user(session, user_id)
        if body.role is not None and body.role != user.role and user.id == principal.user_id:
            # As with deleting: an admin who demoted themselves could not undo it.
            raise Conflict("you cannot change your own role; ask another admin")
        if body.role is not None and body.role != Role.admin and user.role == Role.admin:
            _keep_an_admin(session, user, "demote")
        if body.role is not None:
            user.role = body.role
        if body.password is not None:
            user.password_hash = hash_password(body.password)
            session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
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
