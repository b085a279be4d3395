"""The one dependency that authenticates and authorizes every API route.

A request proves who it is with ``Authorization: Bearer TOKEN`` (an API token) or with the
session cookie set by login. With the cookie, a state-changing request must also send the
session's CSRF token in ``X-CSRF-Token`` (a cross-site page can send the cookie, not the header).
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select

from headwater.platform.auth.roles import Role
from headwater.platform.auth.tokens import hash_secret
from headwater.platform.context import Context, PlatformContext
from headwater.platform.db.models import ApiToken, LoginSession, User

SESSION_COOKIE = "hw_session"
CSRF_COOKIE = "hw_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLE_EXTENSION = "x-required-role"
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """The user a request acts for, and how it proved it."""

    user_id: int
    username: str
    role: Role
    via: Literal["session", "token"]
    session_id: int | None = None
    token_prefix: str | None = None  # the API token's listed prefix, when via a token


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": 'Bearer realm="headwater"'})


def authenticate_token(context: PlatformContext, token: str) -> Principal | None:
    """The principal of an API token, or None if no such token exists."""
    with context.db.session() as session:
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


def _authenticate_session(request: Request, context: PlatformContext, cookie: str) -> Principal:
    with context.db.session() as session:
        row = session.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_hash == hash_secret(cookie))
        ).first()
        if row is None or row[0].expires_at <= datetime.now(UTC):
            raise unauthorized("the session has expired or was logged out; log in again")
        login, user = row
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), login.csrf_token.encode()):
                raise HTTPException(
                    403,
                    f"missing or wrong {CSRF_HEADER} header: send the csrf_token returned by "
                    f"login (also in the {CSRF_COOKIE} cookie) with every write",
                )
        return Principal(user.id, user.username, Role(user.role), "session", login.id)


def authenticate(request: Request, context: PlatformContext) -> Principal:
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("the Authorization header must be `Bearer TOKEN`")
        principal = authenticate_token(context, token.strip())
        if principal is None:
            raise unauthorized("the API token is unknown or was revoked; create a new one")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return _authenticate_session(request, context, cookie)
    raise unauthorized("log in first: send a session cookie or `Authorization: Bearer TOKEN`")


@functools.cache
def require(role: Role) -> Callable[..., Principal]:
    """A dependency: the request's principal, if it holds ``role`` or a higher one."""

    def dependency(request: Request, context: Context) -> Principal:
        principal = authenticate(request, context)
        if not principal.role.allows(role):
            raise HTTPException(
                403, f"this needs the {role} role; {principal.username} is {principal.role}"
            )
        return principal

    return dependency


def secured(role: Role) -> dict[str, Any]:
    """Route keyword arguments enforcing ``role`` and naming it in the OpenAPI document."""
    return {"dependencies": [Depends(require(role))], "openapi_extra": {ROLE_EXTENSION: role.value}}


# Route parameters receiving the caller, checked for the role: ``principal: Editor``.
Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Editor = Annotated[Principal, Depends(require(Role.editor))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
