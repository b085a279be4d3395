"""Authentication and authorization: every route, every role, sessions, CSRF, tokens, rate limit."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from platform_server import PASSWORD, LiveServer

from headwater.platform.api.dependencies import ROLE_EXTENSION

PUBLIC = {("GET", "/healthz"), ("POST", "/api/auth/login")}
RANKS = {"viewer": 0, "editor": 1, "admin": 2}
PATH_VALUES = {
    "name": "no-such-thing",
    "path": "x.py",
    "ref": "abcd",
    "user_id": "999999",
    "token_id": "999999",
    "deployment_id": "999999",
    "project": "no-such-thing",
    "alias": "production",
    "group": "no-such-group",
}


def routes(live: LiveServer) -> list[tuple[str, str, str | None]]:
    """(method, concrete path, required role) of every route in the OpenAPI document."""
    spec = live.client().get("/openapi.json").json()
    out = []
    for template, operations in spec["paths"].items():
        path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], template)
        for method, operation in operations.items():
            out.append((method.upper(), path, operation.get(ROLE_EXTENSION)))
    return out


def call(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, path, **body, **kwargs)


def test_every_route_declares_a_role_and_rejects_anonymous_calls(live: LiveServer) -> None:
    found = routes(live)
    assert len(found) > 25
    with live.client() as anonymous:
        for method, path, role in found:
            if (method, path) in PUBLIC:
                assert role is None
                continue
            assert role in RANKS, f"{method} {path} declares no role"
            response = call(anonymous, method, path)
            assert response.status_code == 401, (method, path, response.text)
            assert "log in" in response.json()["detail"]


def test_every_route_rejects_roles_below_its_own(live: LiveServer) -> None:
    checked = 0
    for caller in ("viewer", "editor"):
        with live.client(caller) as client:
            for method, path, role in routes(live):
                if role is None:
                    continue
                response = call(client, method, path)
                if RANKS[caller] < RANKS[role]:
                    assert response.status_code == 403, (caller, method, path, response.text)
                    assert f"needs the {role} role" in response.json()["detail"]
                    checked += 1
                else:
                    assert response.status_code not in (401, 403), (caller, method, path)
    assert checked > 15


def test_a_viewer_reads_but_cannot_write(live: LiveServer) -> None:
    with live.client("viewer") as viewer:
        assert viewer.get("/api/projects").status_code == 200
        assert viewer.get("/api/templates").status_code == 200
        assert viewer.get("/api/auth/me").json()["role"] == "viewer"
        refused = viewer.post("/api/projects", json={"name": "nope", "template": "hello-stream"})
        assert refused.status_code == 403
        assert "nope" not in [p["name"] for p in viewer.get("/api/projects").json()]


def test_session_cookie_is_httponly_strict_and_writes_need_the_csrf_header(
    live: LiveServer,
) -> None:
    client, csrf = live.login("editor-user", PASSWORD)
    try:
        cookie_headers = client.post(
            "/api/auth/login", json={"username": "editor-user", "password": PASSWORD}
        ).headers.get_list("set-cookie")
        session_cookie = next(c for c in cookie_headers if c.startswith("hw_session="))
        assert "HttpOnly" in session_cookie
        assert "SameSite=strict" in session_cookie or "SameSite=Strict" in session_cookie
        csrf = client.cookies["hw_csrf"]
        assert client.get("/api/auth/me").json()["username"] == "editor-user"
        body = {"content": "x = 1\n"}
        name = f"csrf-{uuid.uuid4().hex[:6]}"
        without = client.post("/api/projects", json={"name": name})
        assert without.status_code == 403
        assert "X-CSRF-Token" in without.json()["detail"]
        wrong = client.post("/api/projects", json={"name": name}, headers={"X-CSRF-Token": "no"})
        assert wrong.status_code == 403
        assert client.get(f"/api/projects/{name}").status_code == 404  # nothing was created
        made = client.post("/api/projects", json={"name": name}, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201
        wrote = client.put(
            f"/api/projects/{name}/files/a.py", json=body, headers={"X-CSRF-Token": csrf}
        )
        assert wrote.status_code == 200
        logout = client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
        assert logout.status_code == 200
        client.cookies.clear()
        assert client.get("/api/auth/me").status_code == 401
    finally:
        client.close()


def test_logged_out_session_cookie_is_refused(live: LiveServer) -> None:
    client, csrf = live.login("viewer-user", PASSWORD)
    try:
        cookie = client.cookies["hw_session"]
        with live.client() as other:
            other.cookies.set("hw_session", cookie)
            assert other.get("/api/auth/me").status_code == 200
            assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).is_success
            assert other.get("/api/auth/me").status_code == 401
    finally:
        client.close()


def test_tokens_are_shown_once_stored_hashed_and_revocable(live: LiveServer) -> None:
    with live.client("editor") as editor:
        made = editor.post("/api/tokens", json={"name": "laptop"})
        assert made.status_code == 201
        token = made.json()["token"]
        listed = editor.get("/api/tokens").json()
        assert all("token" not in t for t in listed)
        assert made.json()["id"] in [t["id"] for t in listed]
        with live.client() as fresh:
            fresh.headers["Authorization"] = f"Bearer {token}"
            assert fresh.get("/api/auth/me").json()["username"] == "editor-user"
            used = {t["id"]: t["last_used_at"] for t in editor.get("/api/tokens").json()}
            assert used[made.json()["id"]] is not None
            from sqlalchemy import text

            with live.context.db.engine.connect() as connection:
                stored = [
                    r[0] for r in connection.execute(text("SELECT token_hash FROM api_tokens"))
                ]
            assert token not in stored and all(len(h) == 64 for h in stored)
            assert editor.delete(f"/api/tokens/{made.json()['id']}").status_code == 200
            assert fresh.get("/api/auth/me").status_code == 401
    with live.client("viewer") as viewer:  # another user's token is not theirs to revoke
        own = viewer.get("/api/tokens").json()[0]["id"]
    with live.client("editor") as editor:
        assert editor.delete(f"/api/tokens/{own}").status_code == 404


def test_login_is_rate_limited_per_user_and_address(live: LiveServer) -> None:
    name = f"limited-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        admin.post("/api/users", json={"username": name, "password": PASSWORD, "role": "viewer"})
    with live.client() as client:
        wrong = {"username": name, "password": "wrong-password"}
        for _ in range(3):
            assert client.post("/api/auth/login", json=wrong).status_code == 401
        limited = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        # Another user from the same address is not held back.
        ok = client.post("/api/auth/login", json={"username": "viewer-user", "password": PASSWORD})
        assert ok.status_code == 200


def test_admin_manages_users_but_keeps_one_admin(live: LiveServer) -> None:
    name = f"user-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        made = admin.post(
            "/api/users", json={"username": name, "password": PASSWORD, "role": "editor"}
        )
        assert made.status_code == 201
        assert made.json()["role"] == "editor" and "password" not in made.text
        duplicate = admin.post("/api/users", json={"username": name, "password": PASSWORD})
        assert duplicate.status_code == 409
        short = admin.post("/api/users", json={"username": "x" + name, "password": "short"})
        assert short.status_code == 422 and "password" in short.json()["detail"]
        bad_role = admin.post(
            "/api/users", json={"username": "y" + name, "password": PASSWORD, "role": "owner"}
        )
        assert bad_role.status_code == 422 and "role" in bad_role.json()["detail"]
        user_id = made.json()["id"]
        assert admin.patch(f"/api/users/{user_id}", json={"role": "viewer"}).json()["role"] == (
            "viewer"
        )
        me = admin.get("/api/auth/me").json()["id"]
        assert admin.delete(f"/api/users/{me}").status_code == 409
        assert admin.patch(f"/api/users/{me}", json={"role": "viewer"}).status_code == 409
        # Not the last admin any more, yet still no demoting oneself: it could not be undone.
        assert admin.patch(f"/api/users/{user_id}", json={"role": "admin"}).status_code == 200
        mine = admin.patch(f"/api/users/{me}", json={"role": "viewer"})
        assert mine.status_code == 409 and "your own role" in mine.text, mine.text
        assert admin.get("/api/auth/me").json()["role"] == "admin"
        assert admin.delete(f"/api/users/{user_id}").status_code == 200
        names = [u["username"] for u in admin.get("/api/users").json()]
        assert name not in names and "x" + name not in names


def test_changing_ones_password_ends_other_sessions(live: LiveServer) -> None:
    name = f"pw-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        made = admin.post("/api/users", json={"username": name, "password": PASSWORD})
        assert made.status_code == 201
    first, _ = live.login(name, PASSWORD)
    second, csrf = live.login(name, PASSWORD)
    try:
        change = {"current_password": "wrong-password", "new_password": "a-new-password"}
        wrong = second.put("/api/auth/password", json=change, headers={"X-CSRF-Token": csrf})
        assert wrong.status_code == 403
        change["current_password"] = PASSWORD
        ok = second.put("/api/auth/password", json=change, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200
        assert second.get("/api/auth/me").status_code == 200  # this session goes on
        assert first.get("/api/auth/me").status_code == 401  # the other one ended
    finally:
        first.close()
        second.close()
    with live.client() as client:
        old = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        assert old.status_code == 401
        new = client.post("/api/auth/login", json={"username": name, "password": "a-new-password"})
        assert new.status_code == 200


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer hwt_unknown"])
def test_bad_authorization_headers_are_refused(live: LiveServer, header: str) -> None:
    with live.client() as client:
        response = client.get("/api/projects", headers={"Authorization": header})
        assert response.status_code == 401
