"""The server serves the built browser app without shadowing its own routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from headwater.platform import spa

INDEX = "<!doctype html><title>app</title>"


def app_serving(root: Path) -> TestClient:
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    spa.install(app, root)
    return TestClient(app)


def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir(parents=True)
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    return tmp_path


def test_client_routes_fall_back_to_index_and_assets_are_cached(tmp_path: Path) -> None:
    client = app_serving(built(tmp_path))
    for path in ("/", "/projects", "/projects/demo?tab=history", "/settings/tokens"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["cache-control"] == "no-cache"
    asset = client.get("/assets/index-abc123.js")
    assert asset.text == "console.log(1)"
    assert "immutable" in asset.headers["cache-control"]


def test_server_paths_are_never_shadowed(tmp_path: Path) -> None:
    client = app_serving(built(tmp_path))
    assert client.get("/healthz").json() == {"status": "ok"}
    for path in ("/api/no-such-route", "/git/x.git/info/refs", "/metrics", "/openapi.json/x"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"] == f"no such path: {path}"


def test_files_outside_the_build_are_not_served(tmp_path: Path) -> None:
    root = built(tmp_path / "app")
    (tmp_path / "secret.txt").write_text("do not serve")
    response = app_serving(root).get("/..%2Fsecret.txt")
    assert "do not serve" not in response.text
    assert response.text == INDEX


def test_a_missing_build_says_how_to_build_it(tmp_path: Path) -> None:
    response = app_serving(tmp_path / "empty").get("/projects")
    assert response.status_code == 503
    assert "npm run build" in response.text and "scripts/setup.sh" in response.text
