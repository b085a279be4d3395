"""Serves the browser app built from ``web/`` (``npm run build`` writes it into ``webapp/``).

Files need no login: they hold no data, and every API call they make is authenticated. Paths the
app does not have fall back to ``index.html`` so client-side routes survive a reload, except the
server's own prefixes, which keep answering 404 as JSON.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

WEBAPP_DIR = Path(__file__).parent / "webapp"
SERVER_PREFIXES = ("api", "git", "docs", "redoc", "openapi.json", "healthz", "metrics")
# Vite names built assets by content hash, so they never change under the same name.
IMMUTABLE = "public, max-age=31536000, immutable"

MISSING_BUILD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Headwater: web app not built</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}
code{background:#eee;padding:2px 4px;border-radius:3px}</style></head>
<body><h1>The web app is not built</h1>
<p>This server runs, but its browser app was not built into the package.
Build it once (Node.js is needed only for this step):</p>
<p><code>bash scripts/setup.sh</code>, or
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code></p>
<p>Then reload this page. The API works meanwhile: see <a href="/docs">/docs</a>.</p>
</body></html>
"""


def _is_server_path(path: str) -> bool:
    first = path.split("/", 1)[0]
    return first in SERVER_PREFIXES


def _file_in(root: Path, path: str) -> Path | None:
    """The file ``path`` names under ``root``, or None (also for anything escaping ``root``)."""
    if not path:
        return None
    candidate = (root / path).resolve()
    try:
        candidate.relative_to(root.resolve())
    except ValueError:
        return None
    return candidate if candidate.is_file() else None


def install(app: FastAPI, root: Path = WEBAPP_DIR) -> None:
    """Add the catch-all route; call it after every other route and mount is added."""

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def webapp(path: str) -> Response:
        if _is_server_path(path):
            return JSONResponse({"detail": f"no such path: /{path}", "errors": []}, 404)
        found = _file_in(root, path)
        if found is not None:
            cache = IMMUTABLE if path.startswith("assets/") else "no-cache"
            return FileResponse(found, headers={"Cache-Control": cache})
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(MISSING_BUILD, status_code=503)
        # The shell must be revalidated so a new build's asset names are picked up.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
