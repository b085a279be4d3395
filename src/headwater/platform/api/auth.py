"""Log in and out (session cookie + CSRF token), who am I, and one's own API tokens.

Password checks (login, password change) go through the login limiter: failures are budgeted
per user name and address, per address and overall, and hashes are computed a few at a time
off the event loop.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select

from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import NO_NUL, OkOut, RowId, UserOut
from headwater.platform.auth.dependencies import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Principal,
    Viewer,
    secured,
)
from headwater.platform.auth.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    hash_password,
    password_problem,
    verify_password,
)
from headwater.platform.auth.ratelimit import Busy, LoginLimiter
from headwater.platform.auth.roles import Role
from headwater.platform.auth.tokens import API_TOKEN_PREFIX, hash_secret, new_secret
from headwater.platform.context import Context, PlatformContext
from headwater.platform.db.models import ApiToken, LoginSession, User
from headwater.platform.errors import Invalid, NotFound

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


def _check_login(context: PlatformContext, username: str, password: str) -> User | None:
    """The user whose name (in any case) and password these are, or None."""
    with context.db.session() as session:
        user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if not verify_password(user.password_hash if user else None, password):
            return None
        return user


def _open_session(context: PlatformContext, user: User) -> tuple[str, LoginOut]:
    cookie, csrf = new_secret(), new_secret()
    expires = datetime.now(UTC) + timedelta(hours=context.settings.session_hours)
    with context.db.session() as session:
        session.add(
            LoginSession(
                token_hash=hash_secret(cookie), csrf_token=csrf, user_id=user.id, expires_at=expires
            )
        )
        # Expired sessions of this user go now, so the table does not grow without end.
        session.execute(
            delete(LoginSession).where(
                LoginSession.user_id == user.id, LoginSession.expires_at <= datetime.now(UTC)
            )
        )
    return cookie, LoginOut(user=UserOut.of(user), csrf_token=csrf, expires_at=expires)


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
            user = await asyncio.to_thread(_check_login, context, body.username, body.password)
    except Busy:
        raise BUSY from None
    if user is None:
        limiter.failed(body.username, address)
        raise HTTPException(401, "wrong user name or password")
    limiter.succeeded(body.username, address)
    cookie, out = await asyncio.to_thread(_open_session, context, user)
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
        with context.db.session() as session:
            session.execute(delete(LoginSession).where(LoginSession.id == principal.session_id))
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return OkOut()


@router.get("/auth/me", response_model=UserOut, **secured(Role.viewer))
def me(
    principal: Viewer,
    context: Context,
) -> UserOut:
    with context.db.session() as session:
        user = session.get(User, principal.user_id)
        assert user is not None
        return UserOut.of(user)


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
    problem = password_problem(body.new_password, principal.username)
    if problem:
        raise Invalid(f"new_password {problem}", [{"field": "new_password", "message": problem}])
    try:
        async with limiter.check_slot():
            refused = _too_many(limiter, principal.username, address)
            if refused is not None:
                raise refused
            changed = await asyncio.to_thread(_change_password, context, principal, body)
    except Busy:
        raise BUSY from None
    if not changed:
        limiter.failed(principal.username, address)
        raise HTTPException(403, "current_password is wrong")
    return OkOut()


def _change_password(context: PlatformContext, principal: Principal, body: PasswordIn) -> bool:
    with context.db.session() as session:
        user = session.get(User, principal.user_id)
        assert user is not None
        if not verify_password(user.password_hash, body.current_password):
            return False
        user.password_hash = hash_password(body.new_password)
        query = delete(LoginSession).where(LoginSession.user_id == user.id)
        if principal.session_id is not None:
            query = query.where(LoginSession.id != principal.session_id)
        session.execute(query)
        session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    return True


@router.get("/tokens", response_model=list[TokenOut], tags=["tokens"], **secured(Role.viewer))
def list_tokens(
    principal: Viewer,
    context: Context,
) -> list[TokenOut]:
    """One's own API tokens (never the tokens themselves)."""
    with context.db.session() as session:
        rows = session.scalars(
            select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.id)
        )
        return [_token_out(t) for t in rows]


@router.post(
    "/tokens", response_model=NewTokenOut, status_code=201, tags=["tokens"], **secured(Role.viewer)
)
def create_token(
    body: TokenIn,
    principal: Viewer,
    context: Context,
) -> NewTokenOut:
    """A new API token acting as oneself; the response is the only time it is shown."""
    token = new_secret(API_TOKEN_PREFIX)
    row = ApiToken(
        user_id=principal.user_id,
        name=body.name,
        prefix=token[: len(API_TOKEN_PREFIX) + 6],
        token_hash=hash_secret(token),
    )
    with context.db.session() as session:
        session.add(row)
        session.flush()
        return NewTokenOut(**_token_out(row).model_dump(), token=token)


@router.delete("/tokens/{token_id}", response_model=OkOut, tags=["tokens"], **secured(Role.viewer))
def revoke_token(
    token_id: RowId,
    principal: Viewer,
    context: Context,
) -> OkOut:
    with context.db.session() as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.user_id != principal.user_id:
            raise NotFound(f"you have no API token {token_id}")
        session.delete(row)
    return OkOut()


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
    )
