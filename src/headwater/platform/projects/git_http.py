"""Git's smart HTTP protocol for project repositories (dulwich), behind API-token auth.

``git clone http://TOKEN@HOST:PORT/git/NAME.git`` (any user name, the token as password) reads
with the viewer role; ``git push`` needs editor. Requests without a valid token get 401 and
Git asks for credentials. Pushes are checked by ``git_push`` and run under the project's lock;
clones and fetches stream without it. Request bodies are bounded, also once decompressed.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from dulwich.errors import NotGitRepository
from dulwich.repo import Repo
from dulwich.server import Backend, BackendRepo
from dulwich.web import GunzipFilter, HTTPGitApplication, LimitedInputFilter

from headwater.platform.auth.principal import Principal
from headwater.platform.auth.roles import Role
from headwater.platform.db.session import Database
from headwater.platform.domain.tokens import TokenService
from headwater.platform.errors import NotFound
from headwater.platform.projects import push_log
from headwater.platform.projects.git_push import PushedRef, PushPolicy, Recorder, handlers
from headwater.platform.projects.store import ProjectStore
from headwater.platform.settings import PlatformSettings

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
_PATH = re.compile(r"^/([a-z][a-z0-9-]{0,62})\.git(/.*)?$")
PUSH_SERVICE = "git-receive-pack"
log = logging.getLogger(__name__)


class ProjectBackend(Backend):
    """Opens ``/NAME.git`` as the bare repository of project NAME."""

    def __init__(self, projects: ProjectStore) -> None:
        self._projects = projects

    def open_repository(self, path: str | bytes) -> BackendRepo:
        text = path.decode("utf-8", "replace") if isinstance(path, bytes) else path
        match = _PATH.match(text.rstrip("/"))
        git_dir = self._projects.git_dir(match.group(1)) if match else None
        if git_dir is None or not git_dir.is_dir():
            raise NotGitRepository(f"no project repository at {text}")
        repo: BackendRepo = Repo(str(git_dir))
        return repo


class GitHTTP:
    """WSGI: checks the token and role, then serves Git's smart HTTP protocol."""

    def __init__(
        self,
        projects: ProjectStore,
        tokens: TokenService,
        db: Database,
        settings: PlatformSettings,
    ) -> None:
        self._projects = projects
        self._tokens = tokens
        self._db = db
        self._settings = settings

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        match = _PATH.match(path)
        if match is None:
            return _reply(start_response, 404, "not a project repository; use /git/NAME.git")
        name = match.group(1)
        service = parse_qs(environ.get("QUERY_STRING", "")).get("service", [""])[0]
        push = path.endswith("/" + PUSH_SERVICE) or service == PUSH_SERVICE
        token = _token(environ.get("HTTP_AUTHORIZATION", ""))
        principal = self._tokens.authenticate(token) if token else None
        if principal is None:
            return _reply(
                start_response,
                401,
                "an API token is needed: use it as the password (any user name)",
                [("WWW-Authenticate", 'Basic realm="headwater"')],
            )
        needed = Role.editor if push else Role.viewer
        if not principal.role.allows(needed):
            return _reply(
                start_response, 403, f"{'push' if push else 'fetch'} needs the {needed} role"
            )
        try:
            project = self._projects.get(name)
        except NotFound as exc:
            return _reply(start_response, 404, exc.message)
        settings = self._settings
        git = _git_app(
            self._projects,
            PushPolicy(
                name, project.protect_main, settings.max_file_bytes, settings.max_push_bytes
            ),
            partial(self._record, name, principal),
        )
        # The ASGI server has decoded a chunked body already: dulwich must not decode it again.
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        if not push:
            return git(environ, start_response)  # streamed as it is packed
        try:
            with self._projects.open(name):
                # Under the project's lock, so a push never races an API commit. The answer is
                # a short status report: dulwich writes it as it goes.
                return list(git(environ, start_response))
        except NotFound as exc:
            return _reply(start_response, 404, exc.message)

    def _record(self, project: str, principal: Principal, pushed: list[PushedRef]) -> None:
        """Log who pushed what. The refs have moved already: a failure here is logged, and the
        push still succeeds."""
        try:
            push_log.record(
                self._db, project, principal.username, principal.token_prefix or "", pushed
            )
        except Exception:
            log.exception("git: could not log a push to %s by %s", project, principal.username)


def _git_app(
    projects: ProjectStore, policy: PushPolicy, record: Recorder
) -> Callable[..., Iterable[bytes]]:
    """Dulwich's Git server for one request; bodies bounded before and after decompression."""
    app = HTTPGitApplication(ProjectBackend(projects), handlers=handlers(policy, record))
    limit = policy.max_push_bytes
    return LimitedInputFilter(GunzipFilter(LimitedInputFilter(app, limit)), limit)


def _token(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return password or user or None


def _reply(
    start_response: StartResponse,
    status: int,
    message: str,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    reasons = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    body = (message + "\n").encode()
    start_response(
        f"{status} {reasons[status]}",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), *(headers or [])],
    )
    return [body]
