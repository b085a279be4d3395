"""Refuses oversized API request bodies before they are parsed (413), whatever the route."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A JSON string escapes a byte to at most 6 characters ("\u0000"); plus room for the rest.
ESCAPE_FACTOR = 6
OVERHEAD = 64 * 1024


class BodyLimit:
    """ASGI middleware: at most ``limit`` bytes of body for paths under ``prefix``. Paths that
    ``streamed`` matches (model uploads) pass untouched: their route reads the body to a file and
    enforces its own limit."""

    def __init__(
        self,
        app: ASGIApp,
        max_file_bytes: int,
        prefix: str = "/api/",
        streamed: re.Pattern[str] | None = None,
    ) -> None:
        self.app = app
        self.limit = ESCAPE_FACTOR * max_file_bytes + OVERHEAD
        self.max_file_bytes = max_file_bytes
        self.prefix = prefix
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        passes = self.streamed is not None and self.streamed.match(path) is not None
        if scope["type"] != "http" or not path.startswith(self.prefix) or passes:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._refuse(send)
                return
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        detail = (
            f"the request body is over {self.limit} bytes; files are limited to "
            f"{self.max_file_bytes} bytes"
        )
        payload = json.dumps({"detail": detail, "errors": []}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
