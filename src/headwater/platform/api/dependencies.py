"""What route handlers receive: the server's context, and the caller checked for a role.

A request proves who it is with ``Authorization: Bearer TOKEN`` (an API token) or with the
session cookie set by login. With the cookie, a state-changing request must also send the
session's CSRF token in ``X-CSRF-Token`` (a cross-site page can send the cookie, not the header).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from headwater.platform.auth.principal import Principal
from headwater.platform.auth.roles import Role
from headwater.platform.context import PlatformContext
from headwater.platform.domain.sessions import CsrfMismatch, SessionExpired

SESSION_COOKIE = "hw_session"
CSRF_COOKIE = "hw_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROLE_EXTENSION = "x-required-role"


def get_context(request: Request) -> PlatformContext:
    context: PlatformContext = request.app.state.platform
    return context


# A route parameter ``context: Context`` receives the server's context.
Context = Annotated[PlatformContext, Depends(get_context)]


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": 'Bearer realm="headwater"'})


def authenticate(request: Request, context: PlatformContext) -> Principal:
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("the Authorization header must be `Bearer TOKEN`")
        principal = context.tokens.authenticate(token.strip())
        if principal is None:
            raise unauthorized("the API token is unknown or was revoked; create a new one")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise unauthorized("log in first: send a session cookie or `Authorization: Bearer TOKEN`")
    csrf = None if request.method in SAFE_METHODS else request.headers.get(CSRF_HEADER, "")
    try:
        return context.sessions.authenticate(cookie, csrf)
    except SessionExpired:
        raise unauthorized("the session has expired or was logged out; log in again") from None
    except CsrfMismatch:
        raise HTTPException(
            403,
            f"missing or wrong {CSRF_HEADER} header: send the csrf_token returned by "
            f"login (also in the {CSRF_COOKIE} cookie) with every write",
        ) from None


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
