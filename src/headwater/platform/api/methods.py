"""``OPTIONS`` answered, and 405s that list every method of a path, as RFC 9110 asks.

Starlette has no ``OPTIONS`` handler, and answers a method a route lacks with the ``Allow`` of
the first route whose path matches; routes sharing a path (``GET`` and ``DELETE`` of
``/api/projects/{name}`` are two) are missed. This middleware is given every API route: a path
one of them serves answers ``OPTIONS`` with 204 and ``Allow``, and a method none of them has with
405 and the same ``Allow``. Other paths pass through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send


class AllowedMethods:
    """ASGI middleware: ``OPTIONS`` and unknown methods answered for the paths of ``routes``
    (those left out of the API's schema, like the web app's catch-all, are skipped)."""

    def __init__(self, app: ASGIApp, routes: Iterable[object]) -> None:
        self.app = app
        self.routes = [r for r in routes if isinstance(r, APIRoute) and r.include_in_schema]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed = self._methods(scope["path"])
        method = scope["method"]
        if not allowed or (method in allowed and method != "OPTIONS"):
            await self.app(scope, receive, send)
            return
        allow = ", ".join([*sorted(allowed), "OPTIONS"]).encode()
        if method == "OPTIONS":
            await _answer(send, 204, allow, b"")
            return
        detail = f"{method} is not allowed here; this path takes {allow.decode()}"
        body = json.dumps({"detail": detail, "errors": []}).encode()
        await _answer(send, 405, allow, body)

    def _methods(self, path: str) -> set[str]:
        """Every method of the routes serving ``path``."""
        found: set[str] = set()
        for route in self.routes:
            if route.path_regex.match(path):
                found |= route.methods or set()
        return found


async def _answer(send: Send, status: int, allow: bytes, body: bytes) -> None:
    headers = [(b"allow", allow), (b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
