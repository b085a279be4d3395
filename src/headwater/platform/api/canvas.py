"""The pipeline canvas: edits of a project shown as a diff, then committed exactly as shown.

``preview`` plans an edit against main and answers with the diff, without changing anything;
``commit`` plans it again against the commit the preview showed (``base``) and commits that,
refusing if main moved since. A commit that changes a deployed app redeploys it at the new
commit; removing a step stops and deletes its deployment.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from headwater.errors import BrokerError
from headwater.kafka.admin import TopicAdmin
from headwater.platform.api.dependencies import Context, Editor, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.projects import (
    CommitOut,
    FileDiffOut,
    TopicChoiceIn,
    _commit_out,
    create_topics,
)
from headwater.platform.api.schemas import NAME, ProjectName, described_pattern
from headwater.platform.api.topics import TOPIC_NAME
from headwater.platform.auth.roles import Role
from headwater.platform.canvas.edits import Edit, Plan, RemoveStep, SetResources, plan_edit
from headwater.platform.canvas.layout import MAX_NODES, CanvasLayouts
from headwater.platform.context import PlatformContext
from headwater.platform.db.models import Deployment
from headwater.platform.deployments.resources import RESOURCES
from headwater.platform.deployments.service import Changes
from headwater.platform.errors import Conflict, Unavailable
from headwater.platform.projects.repository import FileChange, ProjectRepository

router = APIRouter(prefix="/api", tags=["canvas"], responses=ERROR_RESPONSES)
COMMIT_PATTERN = described_pattern(
    r"^[0-9a-f]{40}$", "the full commit id the preview answered with as `base`"
)


class NewTopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOPIC_NAME)
    partitions: int = Field(default=1, ge=1, le=1_000)


class CanvasEditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    edit: Edit
    new_topics: list[NewTopicIn] = Field(
        default_factory=list, description="topics the edit names that are created on commit"
    )
    cluster: str | None = Field(
        default=None, pattern=NAME, description="where new topics are created"
    )


class CanvasCommitIn(CanvasEditIn):
    base: str = Field(pattern=COMMIT_PATTERN, description="the `base` of the preview confirmed")
    message: str | None = Field(
        default=None, min_length=1, max_length=10_000, description="default: the preview's"
    )


class DeploymentEffectOut(BaseModel):
    deployment: int
    cluster: str
    action: str = Field(description="redeploy (at the new commit) or delete (stopped, gone)")


class CanvasPreviewOut(BaseModel):
    base: str = Field(description="the commit the change applies to: send it to commit")
    message: str
    files: list[FileDiffOut]
    new_topics: list[str]
    deployments: list[DeploymentEffectOut] = Field(
        description="what happens to the app's deployments once committed"
    )


class CanvasCommitOut(CanvasPreviewOut):
    commit: CommitOut


class PositionIO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: float = Field(ge=-1e6, le=1e6, allow_inf_nan=False)
    y: float = Field(ge=-1e6, le=1e6, allow_inf_nan=False)


class LayoutIO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    positions: dict[str, PositionIO] = Field(
        max_length=MAX_NODES,
        description="node -> where the user put it: app:PROJECT/APP for apps (deployed or "
        "not), the graph's id for the others",
    )

    @field_validator("positions")
    @classmethod
    def _node_keys(cls, value: dict[str, PositionIO]) -> dict[str, PositionIO]:
        for key in value:
            if not 0 < len(key) <= 300 or "\x00" in key:
                raise ValueError(f"{key[:40]!r} is not a node: 1-300 characters, no NUL")
        return value


def _plan(repo: ProjectRepository, project: str, base: str, body: CanvasEditIn) -> Plan:
    return plan_edit(project, repo.files_at(base), body.edit)


def _files_out(changes: list[FileChange]) -> list[FileDiffOut]:
    return [FileDiffOut(path=c.path, status=c.status, patch=c.patch) for c in changes]


def _deployments(context: PlatformContext, project: str, app: str) -> list[Deployment]:
    return [d for d in context.deployments.list(project) if d.app == app]


def _effects(
    context: PlatformContext, project: str, plan: Plan, body: CanvasEditIn
) -> list[DeploymentEffectOut]:
    action = "delete" if isinstance(body.edit, RemoveStep) else "redeploy"
    return [
        DeploymentEffectOut(deployment=d.id, cluster=d.cluster, action=action)
        for d in _deployments(context, project, plan.app)
    ]


def _check_secrets(context: PlatformContext, project: str, body: CanvasEditIn) -> None:
    """Secrets named by the edit must exist in the project before anything is committed."""
    if isinstance(body.edit, SetResources) and body.edit.secrets:
        service = context.deployments
        with service.db.session() as session:
            service.secrets.values(session, project, body.edit.secrets)


@router.post(
    "/projects/{name}/canvas/preview", response_model=CanvasPreviewOut, **secured(Role.editor)
)
def preview_edit(name: ProjectName, body: CanvasEditIn, context: Context) -> CanvasPreviewOut:
    """The diff a canvas edit would commit to main, and what it would do to deployments;
    nothing changes."""
    _check_secrets(context, name, body)
    with context.projects.open(name) as repo:
        base = repo.resolve("HEAD")
        plan = _plan(repo, name, base, body)
        files = _files_out(repo.planned_diff(base, plan.files))
    return CanvasPreviewOut(
        base=base,
        message=plan.message,
        files=files,
        new_topics=[t.name for t in body.new_topics],
        deployments=_effects(context, name, plan, body),
    )


@router.post(
    "/projects/{name}/canvas/commit",
    response_model=CanvasCommitOut,
    status_code=201,
    **secured(Role.editor),
)
def commit_edit(
    name: ProjectName, body: CanvasCommitIn, principal: Editor, context: Context
) -> CanvasCommitOut:
    """Commit the change the preview at `base` showed; 409 if main moved since (preview again).

    New topics are created first; then the commit; then the app's deployments follow it: a
    changed app is redeployed at the new commit (resources it changes are handed back to
    headwater.yaml), a removed one is stopped and deleted."""
    _check_secrets(context, name, body)
    with context.projects.open(name) as repo:
        if repo.head() != body.base:
            raise _moved(repo, body.base)
        plan = _plan(repo, name, body.base, body)
        if not repo.planned_diff(body.base, plan.files):
            raise Conflict("the edit changes nothing: the project is like that already")
    if body.new_topics:
        _create_missing(context, body)
    with context.projects.open(name) as repo:
        changes = repo.planned_diff(body.base, plan.files)
        commit_id = repo.commit_files(
            body.base, plan.files, principal.username, body.message or plan.message
        )
        info = repo.commit_info(commit_id)
    effects = _effects(context, name, plan, body)
    _follow(context, name, plan, body, commit_id, principal.username)
    return CanvasCommitOut(
        base=body.base,
        message=info.message,
        files=_files_out(changes),
        new_topics=[t.name for t in body.new_topics],
        deployments=effects,
        commit=_commit_out(info),
    )


def _create_missing(context: PlatformContext, body: CanvasEditIn) -> None:
    """Create the edit's new topics that the cluster lacks: one made since the form listed the
    cluster's topics (another edit, another user) is used as it is."""
    name, settings = context.clusters.resolve(body.cluster)
    try:
        existing = set(TopicAdmin(settings).list_topics())
    except BrokerError as exc:
        raise Unavailable(f"cluster {name!r} did not answer: {exc}") from exc
    missing = {
        t.name: TopicChoiceIn(name=t.name, partitions=t.partitions)
        for t in body.new_topics
        if t.name not in existing
    }
    if missing:
        create_topics(context, body.cluster, missing)


def _moved(repo: ProjectRepository, base: str) -> Conflict:
    head = str(repo.head())
    message = (
        f"the project moved to {head[:12]} since the preview at {base[:12]}: "
        "look at the change again and confirm it anew"
    )
    return Conflict(message, [{"field": "base", "message": message}])


def _follow(
    context: PlatformContext,
    project: str,
    plan: Plan,
    body: CanvasEditIn,
    commit_id: str,
    author: str,
) -> None:
    """The app's deployments follow the commit."""
    service = context.deployments
    for deployment in _deployments(context, project, plan.app):
        if isinstance(body.edit, RemoveStep):
            service.delete(deployment.id)
            continue
        changed = body.edit.values() if isinstance(body.edit, SetResources) else {}
        reset = tuple(r for r in RESOURCES if r in changed)
        service.update(
            deployment.id,
            author,
            Changes(
                commit=commit_id,
                reset=reset,
                env=changed.get("env"),
                secrets=changed.get("secrets"),
            ),
        )


@router.get("/projects/{name}/canvas/layout", response_model=LayoutIO, **secured(Role.viewer))
def get_layout(name: ProjectName, context: Context) -> LayoutIO:
    """Where users put the nodes of the project's canvas; nodes not listed are laid out."""
    context.projects.get(name)
    positions = CanvasLayouts(context.db).get(name)
    return LayoutIO(positions={k: PositionIO(x=x, y=y) for k, (x, y) in positions.items()})


@router.put("/projects/{name}/canvas/layout", response_model=LayoutIO, **secured(Role.editor))
def put_layout(name: ProjectName, body: LayoutIO, context: Context) -> LayoutIO:
    """Replace the saved positions of the project's canvas (kept in the platform, not
    committed: a drag is not a change of the pipeline)."""
    context.projects.get(name)
    CanvasLayouts(context.db).replace(name, {k: (p.x, p.y) for k, p in body.positions.items()})
    return body
