"""Users and their roles, and their API tokens (admin only).

User names are unique ignoring case (``Ann`` and ``ann`` are one user) and passwords follow the
rule in ``auth/passwords.py``.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from headwater.platform.api.auth import TokenOut, token_out
from headwater.platform.api.dependencies import Admin, Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import OkOut, RowId, UserOut, described_pattern
from headwater.platform.auth.passwords import MAX_LENGTH, MIN_LENGTH
from headwater.platform.auth.roles import Role

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


@router.get("", response_model=list[UserOut], **secured(Role.admin))
def list_users(context: Context) -> list[UserOut]:
    return [UserOut.of(u) for u in context.users.list()]


@router.post("", response_model=UserOut, status_code=201, **secured(Role.admin))
def create_user(body: UserIn, context: Context) -> UserOut:
    return UserOut.of(context.users.create(body.username, body.password, body.role))


@router.patch("/{user_id}", response_model=UserOut, **secured(Role.admin))
def update_user(
    user_id: RowId,
    body: UserPatch,
    principal: Admin,
    context: Context,
) -> UserOut:
    """Change a user's role or password; a new password ends the user's sessions and revokes
    their API tokens."""
    return UserOut.of(context.users.update(user_id, principal, body.role, body.password))


@router.delete("/{user_id}", response_model=OkOut, **secured(Role.admin))
def delete_user(
    user_id: RowId,
    principal: Admin,
    context: Context,
) -> OkOut:
    context.users.delete(user_id, principal)
    return OkOut()


@router.get("/{user_id}/tokens", response_model=list[TokenOut], **secured(Role.admin))
def list_user_tokens(user_id: RowId, context: Context) -> list[TokenOut]:
    """A user's API tokens (never the tokens themselves)."""
    context.users.get(user_id)
    return [token_out(t) for t in context.tokens.list(user_id)]


@router.delete("/{user_id}/tokens/{token_id}", response_model=OkOut, **secured(Role.admin))
def revoke_user_token(user_id: RowId, token_id: RowId, context: Context) -> OkOut:
    """Revoke one of a user's API tokens (a leaked one, or one of a person who left)."""
    context.tokens.revoke(user_id, token_id, f"user {user_id} has no API token {token_id}")
    return OkOut()


@router.delete("/{user_id}/tokens", response_model=OkOut, **secured(Role.admin))
def revoke_user_tokens(user_id: RowId, context: Context) -> OkOut:
    """Revoke every API token of a user."""
    context.users.get(user_id)
    context.tokens.revoke_all(user_id)
    return OkOut()
