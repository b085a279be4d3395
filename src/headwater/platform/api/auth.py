"""Log in and out (session cookie + CSRF token), who am I, and one's own API tokens.

Password checks (login, password change) go through the login limiter: failures are budgeted
per user name and address, per address and overall, and hashes are computed a few at a time
off the event loop.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from headwater.platform.api.dependencies import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Context,
    Viewer,
    secured,
)
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import NO_NUL, OkOut, RowId, UserOut
from headwater.platform.auth.passwords import MAX_LENGTH, MIN_LENGTH
from headwater.platform.auth.ratelimit import Busy, LoginLimiter
from headwater.platform.auth.roles import Role
from headwater.platform.db.models import ApiToken
from headwater.platform.domain.users import check_password

router = APIRouter(prefix="/api", tags=["auth"], responses=ERROR_RESPONSES)


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str
    expires_at: datetime


class PasswordIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=MAX_LENGTH)
    new_password: str = Field(
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        description=f"at least {MIN_LENGTH} characters, not easy to guess",
    )


class TokenIn(BaseModel):
    name: str = Field(
        min_length=1, max_length=100, pattern=NO_NUL, description="what the token is for"
    )


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="the token itself; shown only now, store it safely")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _too_many(limiter: LoginLimiter, user: str, address: str) -> HTTPException | None:
    refusal = limiter.refusal(user, address)
    if refusal is None:
        return None
    wait = int(refusal.seconds) + 1
    return HTTPException(
        429, f"{refusal.reason}; try again in {wait} s", headers={"Retry-After": str(wait)}
    )


BUSY = HTTPException(
    429,
    "the server is checking many passwords at once; try again in a few seconds",
    headers={"Retry-After": "2"},
)


@router.post("/auth/login", response_model=LoginOut)
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    context: Context,
) -> LoginOut:
    """Check a password; on success set the session cookie and return the CSRF token."""
    limiter, address = context.login_limiter, _client(request)
    refused = _too_many(limiter, body.username, address)
    if refused is not None:
        raise refused
    try:
        async with limiter.check_slot():
            # Again: failures recorded while this request waited count too.
            refused = _too_many(limiter, body.username, address)
            if refused is not None:
                raise refused
            user = await asyncio.to_thread(context.users.check_login, body.username, body.password)
    except Busy:
        raise BUSY from None
    if user is None:
        limiter.failed(body.username, address)
        raise HTTPException(401, "wrong user name or password")
    limiter.succeeded(body.username, address)
    opened = await asyncio.to_thread(context.sessions.open, user.id)
    cookie = opened.cookie
    out = LoginOut(
        user=UserOut.of(user), csrf_token=opened.csrf_token, expires_at=opened.expires_at
    )
    max_age = int(context.settings.session_hours * 3600)
    secure = context.settings.secure_cookies
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=max_age, httponly=True, samesite="strict", secure=secure
    )
    response.set_cookie(
        CSRF_COOKIE,
        out.csrf_token,
        max_age=max_age,
        httponly=False,
        samesite="strict",
        secure=secure,
    )
    return out


@router.post("/auth/logout", response_model=OkOut, **secured(Role.viewer))
def logout(
    response: Response,
    principal: Viewer,
    context: Context,
) -> OkOut:
    """End this session (with a token: nothing to end)."""
    if principal.session_id is not None:
        context.sessions.close(principal.session_id)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return OkOut()


@router.get("/auth/me", response_model=UserOut, **secured(Role.viewer))
def me(
    principal: Viewer,
    context: Context,
) -> UserOut:
    return UserOut.of(context.users.get(principal.user_id))


@router.put("/auth/password", response_model=OkOut, **secured(Role.viewer))
async def change_password(
    body: PasswordIn,
    request: Request,
    principal: Viewer,
    context: Context,
) -> OkOut:
    """Change one's own password: the user's other sessions end and their API tokens are
    revoked (whoever knew the old password may have made one). Wrong current passwords are
    budgeted like failed logins."""
    limiter, address = context.login_limiter, _client(request)
    refused = _too_many(limiter, principal.username, address)
    if refused is not None:
        raise refused
    check_password(body.new_password, principal.username, "new_password")
    try:
        async with limiter.check_slot():
            refused = _too_many(limiter, principal.username, address)
            if refused is not None:
                raise refused
            changed = await asyncio.to_thread(
                context.users.change_own_password,
                principal,
                body.current_password,
                body.new_password,
            )
    except Busy:
        raise BUSY from None
    if not changed:
        limiter.failed(principal.username, address)
        raise HTTPException(403, "current_password is wrong")
    return OkOut()


@router.get("/tokens", response_model=list[TokenOut], tags=["tokens"], **secured(Role.viewer))
def list_tokens(principal: Viewer, context: Context) -> list[TokenOut]:
    """One's own API tokens (never the tokens themselves)."""
    return [token_out(t) for t in context.tokens.list(principal.user_id)]


@router.post(
    "/tokens", response_model=NewTokenOut, status_code=201, tags=["tokens"], **secured(Role.viewer)
)
def create_token(body: TokenIn, principal: Viewer, context: Context) -> NewTokenOut:
    """A new API token acting as oneself; the response is the only time it is shown."""
    made = context.tokens.create(principal.user_id, body.name)
    return NewTokenOut(**token_out(made.row).model_dump(), token=made.token)


@router.delete("/tokens/{token_id}", response_model=OkOut, tags=["tokens"], **secured(Role.viewer))
def revoke_token(token_id: RowId, principal: Viewer, context: Context) -> OkOut:
    context.tokens.revoke(principal.user_id, token_id, f"you have no API token {token_id}")
    return OkOut()


def token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
    )
