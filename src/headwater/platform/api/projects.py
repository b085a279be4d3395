"""Projects: templates, files of the working tree, commits, diffs, roll back and the manifest."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi import Path as FastAPIPath
from pydantic import BaseModel, ConfigDict, Field

from headwater.errors import BrokerError, ConfigError, TopicExistsError
from headwater.kafka.admin import TopicAdmin
from headwater.platform.api.dependencies import Context, Editor, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import (
    NO_NUL,
    REF_PATTERN,
    OkOut,
    ProjectName,
    described_pattern,
)
from headwater.platform.api.topics import TOPIC_NAME
from headwater.platform.auth.roles import Role
from headwater.platform.db.models import Project
from headwater.platform.errors import Conflict, Invalid, NotFound, TooLarge, Unavailable
from headwater.platform.projects.manifest import MANIFEST_FILE, AppSpec, parse_manifest
from headwater.platform.projects.paths import check_path, check_project_name
from headwater.platform.projects.repository import CommitInfo, FileChange
from headwater.platform.projects.templates import TEMPLATES, topic_names
from headwater.topic import Topic

router = APIRouter(prefix="/api", tags=["projects"], responses=ERROR_RESPONSES)
WORKSPACE = "workspace"
RefQuery = Annotated[
    str | None,
    Query(
        pattern=REF_PATTERN,
        description="a commit id (or prefix), HEAD or main; omitted: the working tree",
    ),
]
TARGET_PATTERN = described_pattern(
    r"^(HEAD|main|workspace|[0-9a-fA-F]{4,40})$",
    "not a commit id: give 4-40 hex digits, HEAD, main or workspace",
)
RefPath = Annotated[str, FastAPIPath(pattern=REF_PATTERN, description="a commit id, HEAD or main")]


class TopicSlotOut(BaseModel):
    name: str = Field(description="the key to choose this topic with in a new project's `topics`")
    role: Literal["input", "output"]
    default: str = Field(description="the topic used when none is chosen; {project}: its name")
    description: str


class TemplateOut(BaseModel):
    id: str
    title: str
    description: str
    topics: list[TopicSlotOut] = Field(description="topics its apps read and write")


class TopicChoiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOPIC_NAME, description="an existing topic, or one to create")
    partitions: int | None = Field(
        default=None, ge=1, le=1_000, description="set: create the topic with this many"
    )


class ProjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="lowercase letters, digits and '-', starting with a letter")
    description: str = Field(default="", max_length=500, pattern=NO_NUL)
    template: str | None = Field(default=None, description="a template id; none: an empty project")
    topics: dict[str, TopicChoiceIn] = Field(
        default_factory=dict,
        description="the template's topics by name (see GET /api/templates); the template's "
        "default for those not given",
    )
    cluster: str | None = Field(
        default=None, description="where topics given with partitions are created"
    )


class ProjectPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protect_main: bool | None = Field(
        default=None,
        description="refuse pushes that rewrite or delete main (admins only may turn it off)",
    )


class ProjectOut(BaseModel):
    name: str
    description: str
    template: str | None
    created_by: str
    created_at: datetime
    protect_main: bool = Field(description="force-pushes and deletions of main are refused")
    head: str | None = Field(description="the commit main points at")
    git_path: str = Field(description="path of the Git remote on this server, for git clone")


class FileOut(BaseModel):
    path: str
    size: int


class TreeOut(BaseModel):
    ref: str = Field(description="'workspace' or the commit id listed")
    files: list[FileOut]


class FileContentOut(BaseModel):
    path: str
    ref: str
    size: int
    encoding: Literal["utf-8", "base64"]
    content: str


class FileIn(BaseModel):
    content: str
    encoding: Literal["utf-8", "base64"] = "utf-8"


class RenameIn(BaseModel):
    source: str
    target: str


class ChangeOut(BaseModel):
    path: str
    status: Literal["added", "modified", "deleted"]


class FileDiffOut(ChangeOut):
    patch: str = Field(description="a unified diff of the file")


class DiffOut(BaseModel):
    base: str
    target: str
    files: list[FileDiffOut]


class CommitIn(BaseModel):
    message: str = Field(min_length=1, max_length=10_000)


class RollbackIn(BaseModel):
    commit: str = Field(
        pattern=REF_PATTERN, description="the commit whose files become the new main"
    )


class CommitOut(BaseModel):
    id: str
    message: str
    author: str
    timestamp: datetime
    parents: list[str]


class ManifestOut(BaseModel):
    ref: str
    apps: list[AppSpec]


def _commit_out(info: CommitInfo) -> CommitOut:
    return CommitOut(
        id=info.id,
        message=info.message,
        author=info.author,
        timestamp=datetime.fromtimestamp(info.timestamp, UTC),
        parents=info.parents,
    )


def _change_out(change: FileChange) -> ChangeOut:
    return ChangeOut(path=change.path, status=change.status)


def _project_out(project: Project, head: str | None) -> ProjectOut:
    return ProjectOut(
        name=project.name,
        description=project.description,
        template=project.template,
        created_by=project.created_by,
        created_at=project.created_at,
        protect_main=project.protect_main,
        head=head,
        git_path=f"/git/{project.name}.git",
    )


@router.get("/templates", response_model=list[TemplateOut], **secured(Role.viewer))
def list_templates() -> list[TemplateOut]:
    return [
        TemplateOut(
            id=t.id,
            title=t.title,
            description=t.description,
            topics=[
                TopicSlotOut(name=s.name, role=s.role, default=s.default, description=s.description)
                for s in t.topics
            ],
        )
        for t in TEMPLATES.values()
    ]


@router.get("/projects", response_model=list[ProjectOut], **secured(Role.viewer))
def list_projects(context: Context) -> list[ProjectOut]:
    out = []
    for project in context.projects.list():
        with context.projects.open(project.name) as repo:
            out.append(_project_out(project, repo.head()))
    return out


@router.post("/projects", response_model=ProjectOut, status_code=201, **secured(Role.editor))
def create_project(
    body: ProjectIn,
    principal: Editor,
    context: Context,
) -> ProjectOut:
    """A new project with one commit: the template's files with the chosen topics, or none.

    Topics chosen with `partitions` are created first; nothing is created if the request is
    refused."""
    chosen = {slot: choice.name for slot, choice in body.topics.items()}
    if chosen and body.template is None:
        message = "topics are chosen for a template's apps: give a template too"
        raise Invalid(message, [{"field": "topics", "message": message}])
    check_project_name(body.name)
    if any(p.name == body.name for p in context.projects.list()):
        raise Conflict(
            f"a project named {body.name!r} exists already; pick another name",
            [{"field": "name", "message": "exists already"}],
        )
    if body.template is not None:
        _check_topic_choices(body.template, body.name, chosen)
    new = {slot: c for slot, c in body.topics.items() if c.partitions is not None}
    if new:
        create_topics(context, body.cluster, new)
    project = context.projects.create(
        body.name, body.description, body.template, principal.username, chosen
    )
    with context.projects.open(project.name) as repo:
        return _project_out(project, repo.head())


def _check_topic_choices(template: str, project: str, chosen: dict[str, str]) -> None:
    names = topic_names(template, project, chosen)  # unknown slots and bad names refused
    seen: dict[str, str] = {}
    for slot, topic in names.items():
        if topic in seen:
            message = f"{seen[topic]} and {slot} are both {topic!r}: pick a topic for each"
            raise Invalid(message, [{"field": f"topics.{slot}", "message": message}])
        seen[topic] = slot


def create_topics(context: Context, cluster: str | None, new: dict[str, TopicChoiceIn]) -> None:
    name, settings = context.clusters.resolve(cluster)
    admin = TopicAdmin(settings)
    try:
        existing = set(admin.list_topics())
    except BrokerError as exc:
        raise Unavailable(f"cluster {name!r} did not answer: {exc}") from exc
    for slot, choice in new.items():
        if choice.name in existing:
            message = f"topic {choice.name!r} exists on cluster {name!r}: pick it from the list"
            raise Conflict(message, [{"field": f"topics.{slot}", "message": message}])
    topics = [Topic(c.name, partitions=c.partitions or 1) for c in new.values()]
    try:
        admin.create(topics, exist_ok=False)
    except TopicExistsError as exc:
        message = f"{exc}; pick it from the list"
        raise Conflict(message, [{"field": "topics", "message": message}]) from exc
    except ConfigError as exc:  # the cluster refused the settings
        raise Invalid(str(exc), [{"field": "topics", "message": str(exc)}]) from exc
    except BrokerError as exc:
        raise Unavailable(f"cluster {name!r} did not answer: {exc}") from exc
    for topic in topics:
        context.topic_rates.forget(name, topic.name)


@router.get("/projects/{name}", response_model=ProjectOut, **secured(Role.viewer))
def get_project(name: ProjectName, context: Context) -> ProjectOut:
    project = context.projects.get(name)
    with context.projects.open(name) as repo:
        return _project_out(project, repo.head())


@router.patch("/projects/{name}", response_model=ProjectOut, **secured(Role.admin))
def update_project(name: ProjectName, body: ProjectPatch, context: Context) -> ProjectOut:
    """Change a project's settings: `protect_main` (on by default)."""
    project = context.projects.get(name)
    if body.protect_main is not None:
        project = context.projects.set_protect_main(name, body.protect_main)
    with context.projects.open(name) as repo:
        return _project_out(project, repo.head())


@router.delete("/projects/{name}", response_model=OkOut, **secured(Role.admin))
def delete_project(name: ProjectName, context: Context) -> OkOut:
    """Delete a project and its repository with all its history (once nothing is deployed)."""
    deployed = context.deployments.list(name)
    if deployed:
        apps = ", ".join(f"{d.app} (id {d.id})" for d in deployed)
        raise Conflict(
            f"project {name!r} has deployments: {apps}; delete them first with "
            "DELETE /api/deployments/{id}"
        )
    context.projects.delete(name)
    return OkOut()


@router.get("/projects/{name}/files", response_model=TreeOut, **secured(Role.viewer))
def list_files(name: ProjectName, context: Context, ref: RefQuery = None) -> TreeOut:
    with context.projects.open(name) as repo:
        if ref is None:
            return TreeOut(
                ref=WORKSPACE, files=[FileOut(path=f.path, size=f.size) for f in repo.files()]
            )
        commit = repo.resolve(ref)
        files = [
            FileOut(path=path, size=len(repo.read_blob(blob)))
            for path, (blob, _) in sorted(repo.snapshot(commit).items())
        ]
        return TreeOut(ref=commit, files=files)


@router.get(
    "/projects/{name}/files/{path:path}", response_model=FileContentOut, **secured(Role.viewer)
)
def read_file(
    name: ProjectName,
    path: str,
    context: Context,
    ref: RefQuery = None,
) -> FileContentOut:
    """A file's content: text as UTF-8, anything else base64-encoded."""
    clean = check_path(path)
    with context.projects.open(name) as repo:
        if ref is None:
            data, at = repo.read(clean), WORKSPACE
        else:
            at = repo.resolve(ref)
            entry = repo.snapshot(at).get(clean)
            if entry is None:
                raise NotFound(f"no file {clean!r} at commit {at[:12]}")
            data = repo.read_blob(entry[0])
    try:
        return FileContentOut(
            path=clean, ref=at, size=len(data), encoding="utf-8", content=data.decode("utf-8")
        )
    except UnicodeDecodeError:
        content = base64.b64encode(data).decode("ascii")
        return FileContentOut(
            path=clean, ref=at, size=len(data), encoding="base64", content=content
        )


@router.put("/projects/{name}/files/{path:path}", response_model=FileOut, **secured(Role.editor))
def write_file(name: ProjectName, path: str, body: FileIn, context: Context) -> FileOut:
    """Create or replace a file of the working tree (commit to keep it in the history)."""
    clean = check_path(path)
    data = _decode(body)
    limit = context.settings.max_file_bytes
    if len(data) > limit:
        raise TooLarge(
            f"{clean} is {len(data)} bytes; files are limited to {limit} bytes: keep data out of "
            "the project (in a topic or object store)",
            [{"field": "content", "message": f"at most {limit} bytes"}],
        )
    with context.projects.open(name) as repo:
        if clean == MANIFEST_FILE:
            # Refuse an invalid manifest, or one naming a missing entrypoint, before writing it.
            parse_manifest(data, {f.path for f in repo.files()})
        repo.write(clean, data)
    return FileOut(path=clean, size=len(data))


def _decode(body: FileIn) -> bytes:
    if body.encoding == "utf-8":
        return body.content.encode("utf-8")
    try:
        return base64.b64decode(body.content, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(
            "content is not valid base64; encode the bytes or send encoding 'utf-8'",
            [{"field": "content", "message": "not valid base64"}],
        ) from None


@router.delete("/projects/{name}/files/{path:path}", response_model=OkOut, **secured(Role.editor))
def delete_file(name: ProjectName, path: str, context: Context) -> OkOut:
    with context.projects.open(name) as repo:
        repo.remove(path)
    return OkOut()


@router.post("/projects/{name}/renames", response_model=FileOut, **secured(Role.editor))
def rename_file(name: ProjectName, body: RenameIn, context: Context) -> FileOut:
    """Move a file of the working tree to another path."""
    target = check_path(body.target)
    with context.projects.open(name) as repo:
        repo.rename(body.source, target)
        return FileOut(path=target, size=len(repo.read(target)))


@router.get("/projects/{name}/changes", response_model=list[ChangeOut], **secured(Role.viewer))
def list_changes(name: ProjectName, context: Context) -> list[ChangeOut]:
    """Uncommitted changes of the working tree; their patches: diff from HEAD to workspace."""
    with context.projects.open(name) as repo:
        repo.sync()
        return [_change_out(c) for c in repo.changes()]


@router.post("/projects/{name}/changes/discard", response_model=OkOut, **secured(Role.editor))
def discard_changes(name: ProjectName, context: Context) -> OkOut:
    """Reset the working tree to main."""
    with context.projects.open(name) as repo:
        repo.discard()
    return OkOut()


@router.get("/projects/{name}/commits", response_model=list[CommitOut], **secured(Role.viewer))
def list_commits(
    name: ProjectName,
    context: Context,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[CommitOut]:
    """The history of main, newest first."""
    with context.projects.open(name) as repo:
        return [_commit_out(c) for c in repo.log(limit)]


@router.post(
    "/projects/{name}/commits", response_model=CommitOut, status_code=201, **secured(Role.editor)
)
def commit(
    name: ProjectName,
    body: CommitIn,
    principal: Editor,
    context: Context,
) -> CommitOut:
    """Commit the working tree onto main, authored by the caller."""
    with context.projects.open(name) as repo:
        commit_id = repo.commit(principal.username, body.message)
        return _commit_out(repo.commit_info(commit_id))


@router.get("/projects/{name}/commits/{ref}", response_model=CommitOut, **secured(Role.viewer))
def get_commit(name: ProjectName, ref: RefPath, context: Context) -> CommitOut:
    with context.projects.open(name) as repo:
        return _commit_out(repo.commit_info(ref))


@router.get("/projects/{name}/diff", response_model=DiffOut, **secured(Role.viewer))
def diff(
    name: ProjectName,
    context: Context,
    base: Annotated[str, Query(pattern=REF_PATTERN, description="the older commit")],
    target: Annotated[
        str,
        Query(
            pattern=TARGET_PATTERN,
            description="the newer commit, or 'workspace' for uncommitted changes",
        ),
    ] = "HEAD",
) -> DiffOut:
    """The changes between two commits (or a commit and the working tree), per file."""
    with context.projects.open(name) as repo:
        old = repo.resolve(base)
        new = WORKSPACE if target == WORKSPACE else repo.resolve(target)
        files = [
            FileDiffOut(path=c.path, status=c.status, patch=c.patch) for c in repo.diff(old, new)
        ]
        return DiffOut(base=old, target=new, files=files)


@router.post(
    "/projects/{name}/rollback", response_model=CommitOut, status_code=201, **secured(Role.editor)
)
def rollback(
    name: ProjectName,
    body: RollbackIn,
    principal: Editor,
    context: Context,
) -> CommitOut:
    """A new commit on main restoring the files of an older commit; history is kept."""
    with context.projects.open(name) as repo:
        commit_id = repo.rollback(body.commit, principal.username)
        return _commit_out(repo.commit_info(commit_id))


@router.get("/projects/{name}/manifest", response_model=ManifestOut, **secured(Role.viewer))
def manifest(name: ProjectName, context: Context, ref: RefQuery = None) -> ManifestOut:
    """The project's headwater.yaml, validated (422 lists each wrong field and its fix)."""
    with context.projects.open(name) as repo:
        if ref is None:
            paths = {f.path for f in repo.files()}
            if MANIFEST_FILE not in paths:
                raise NotFound(f"the project has no {MANIFEST_FILE}; create one at its root")
            data, at = repo.read(MANIFEST_FILE), WORKSPACE
        else:
            at = repo.resolve(ref)
            snapshot = repo.snapshot(at)
            paths = set(snapshot)
            if MANIFEST_FILE not in snapshot:
                raise NotFound(f"commit {at[:12]} has no {MANIFEST_FILE}")
            data = repo.read_blob(snapshot[MANIFEST_FILE][0])
    return ManifestOut(ref=at, apps=parse_manifest(data, paths).apps)
