"""The web app's generated API types match the OpenAPI document a running server serves."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from platform_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "web_types.sh"


def test_generated_web_types_match_the_running_servers_document(
    live: LiveServer, tmp_path: Path
) -> None:
    assert (ROOT / "web" / "node_modules" / ".bin" / "openapi-typescript").exists(), (
        "the web app's packages are missing: run scripts/setup.sh"
    )
    with live.client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200, response.text
    document = tmp_path / "openapi.json"
    document.write_bytes(response.content)
    checked = subprocess.run(
        ["bash", str(SCRIPT), "--check"],
        env={**os.environ, "OPENAPI_DOCUMENT": str(document)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr
