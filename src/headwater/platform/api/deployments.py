"""Deployments: run a project's app at a pinned commit; scale, roll back, stop, start, logs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from headwater.platform.api.dependencies import Context, Editor, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import (
    NAME,
    REF_PATTERN,
    Integer,
    Number,
    OkOut,
    ProjectName,
    RowId,
    described_pattern,
)
from headwater.platform.auth.roles import Role
from headwater.platform.context import PlatformContext
from headwater.platform.db.models import Deployment
from headwater.platform.deployments import resources
from headwater.platform.deployments.limits import Limits
from headwater.platform.deployments.logs import LogLine
from headwater.platform.deployments.resources import Resource
from headwater.platform.deployments.service import Changes
from headwater.platform.deployments.status import (
    DeploymentStatus,
    deployment_status,
    ready_replicas,
)
from headwater.platform.errors import PlatformError
from headwater.platform.projects.manifest import (
    MAX_CPU,
    MAX_REPLICAS,
    MEMORY,
    MEMORY_HELP,
    MIN_CPU,
    check_env_names,
    check_secret_refs,
    memory_size,
)

router = APIRouter(prefix="/api", tags=["deployments"], responses=ERROR_RESPONSES)
STREAM_WAIT_SECONDS = 1.0


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replicas: Integer | None = Field(
        default=None, ge=1, le=MAX_REPLICAS, description="processes of the app"
    )
    cpu: Number | None = Field(
        default=None, ge=MIN_CPU, le=MAX_CPU, description="cores per replica"
    )
    memory: str | None = Field(
        default=None,
        pattern=described_pattern(MEMORY.pattern, f"not a memory size: write {MEMORY_HELP}"),
        description=f"memory per replica: {MEMORY_HELP}",
    )
    env: dict[str, str] | None = Field(default=None, description="environment variables")
    secrets: dict[str, str] | None = Field(
        default=None, description="environment variable -> name of a platform secret"
    )

    _check_env = field_validator("env")(check_env_names)
    _check_secrets = field_validator("secrets")(check_secret_refs)


class DeploymentIn(SettingsIn):
    app: str = Field(description="the app's name in headwater.yaml")
    commit: str | None = Field(
        default=None, pattern=REF_PATTERN, description="a commit id or prefix; default HEAD"
    )
    cluster: str | None = Field(
        default=None,
        pattern=NAME,
        description="the cluster to run against; by default `default`, else the only one",
    )
    state: Literal["running", "stopped"] = "running"


class DeploymentPatch(SettingsIn):
    commit: str | None = Field(
        default=None,
        pattern=REF_PATTERN,
        description="redeploy another commit (an older one rolls back)",
    )
    reset: list[Resource] = Field(
        default_factory=list,
        description="resources to take from headwater.yaml again instead of a value set here",
    )


class ManifestResourcesOut(BaseModel):
    replicas: int
    cpu: float
    memory: str


class DeploymentOut(BaseModel):
    id: int
    project: str
    app: str
    cluster: str
    commit: str
    replicas: int
    cpu: float
    memory: str
    env: dict[str, str]
    secrets: dict[str, str] = Field(description="environment variable -> secret name (no values)")
    desired_state: Literal["running", "stopped"]
    status: DeploymentStatus = Field(
        description="running (every replica ready), starting, degraded (some ready), failing "
        "(none ready, one crashed) or stopped: the rule the graph uses too"
    )
    ready_replicas: int = Field(description="replicas that joined their group (or run steadily)")
    overrides: list[Resource] = Field(
        description="resources set on the deployment; the others follow headwater.yaml, also "
        "when another commit is deployed"
    )
    manifest: ManifestResourcesOut | None = Field(
        description="headwater.yaml's values at the deployed commit; null if it cannot be read"
    )
    enforcement: str = Field(description="how CPU and memory limits are enforced on this host")
    limits: str = Field(description="the limits as applied, e.g. cgroup files or rlimits")
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime


class PartitionOut(BaseModel):
    topic: str
    partition: int


class ReplicaOut(BaseModel):
    index: int
    status: Literal["running", "backoff", "stopping"]
    pid: int | None
    commit: str
    restarts: int
    started_at: datetime | None
    last_exit_code: int | None
    partitions: list[PartitionOut] | None = Field(
        description="partitions the replica consumes; null until it has reported them"
    )
    ready: bool = Field(description="reported its partitions, or runs steadily without")
    enforcement: str


class LogLineOut(BaseModel):
    seq: int
    time: datetime
    replica: int | None = Field(description="null for the supervisor's own lines")
    text: str


def _out(context: PlatformContext, deployment: Deployment) -> DeploymentOut:
    enforcer = context.supervisor.enforcer
    # A row stored before sizes were bounded may hold one out of bounds: shown, never applied.
    size = memory_size(deployment.memory)
    limits = Limits(deployment.cpu, size) if size is not None else None
    replicas = context.deployments.replicas(deployment)
    where = context.deployments.where(deployment)
    try:
        entry = context.deployments.manifest_entry(deployment)
        manifest = ManifestResourcesOut(replicas=entry.replicas, cpu=entry.cpu, memory=entry.memory)
    except PlatformError:  # the project is gone, its history was rewritten or its manifest is bad
        manifest = None
    return DeploymentOut(
        id=deployment.id,
        project=deployment.project,
        app=deployment.app,
        cluster=deployment.cluster,
        commit=deployment.commit,
        replicas=deployment.replicas,
        cpu=deployment.cpu,
        memory=deployment.memory,
        env=json.loads(deployment.env_json or "{}"),
        secrets=json.loads(deployment.secrets_json or "{}"),
        desired_state="running" if deployment.desired_state == "running" else "stopped",
        status=deployment_status(deployment.desired_state, deployment.replicas, replicas),
        ready_replicas=ready_replicas(replicas),
        overrides=resources.overrides(deployment),
        manifest=manifest,
        enforcement=enforcer.mode.value if where == "local" else "kubernetes",
        limits=_limits(where, deployment, enforcer.describe(limits) if limits else None),
        created_by=deployment.created_by,
        updated_by=deployment.updated_by,
        created_at=deployment.created_at,
        updated_at=deployment.updated_at,
    )


def _limits(where: str, deployment: Deployment, local: str | None) -> str:
    if local is None:
        return f"invalid memory {deployment.memory!r}"
    if where == "local":
        return local
    # where is "kubernetes:NAME": the StatefulSet's requests equal its limits.
    return (
        f"StatefulSet {where.split(':', 1)[1]}: requests = limits: {deployment.cpu} CPU, "
        f"{deployment.memory} memory per pod"
    )


def _changes(
    body: SettingsIn, commit: str | None = None, reset: list[Resource] | None = None
) -> Changes:
    return Changes(
        commit=commit,
        reset=tuple(reset or ()),
        replicas=body.replicas,
        cpu=body.cpu,
        memory=body.memory,
        env=body.env,
        secrets=body.secrets,
    )


@router.get(
    "/projects/{project}/deployments",
    response_model=list[DeploymentOut],
    **secured(Role.viewer),
)
def list_deployments(project: ProjectName, context: Context) -> list[DeploymentOut]:
    return [_out(context, d) for d in context.deployments.list(project)]


@router.post(
    "/projects/{project}/deployments",
    response_model=DeploymentOut,
    status_code=201,
    **secured(Role.editor),
)
def create_deployment(
    project: ProjectName, body: DeploymentIn, principal: Editor, context: Context
) -> DeploymentOut:
    """Deploy an app at a commit; unset fields come from its entry in headwater.yaml."""
    deployment = context.deployments.create(
        project,
        body.app,
        principal.username,
        commit=body.commit,
        cluster=body.cluster,
        state=body.state,
        changes=_changes(body),
    )
    return _out(context, deployment)


@router.get("/deployments/{deployment_id}", response_model=DeploymentOut, **secured(Role.viewer))
def get_deployment(deployment_id: RowId, context: Context) -> DeploymentOut:
    return _out(context, context.deployments.get(deployment_id))


@router.patch("/deployments/{deployment_id}", response_model=DeploymentOut, **secured(Role.editor))
def update_deployment(
    deployment_id: RowId, body: DeploymentPatch, principal: Editor, context: Context
) -> DeploymentOut:
    """Scale, change limits or environment, or redeploy another commit (roll back).

    Replicas, cpu and memory given here override headwater.yaml until `reset` hands them back;
    the others take the values of the deployed commit's headwater.yaml."""
    service = context.deployments
    changes = _changes(body, body.commit, body.reset)
    deployment = service.update(deployment_id, principal.username, changes)
    return _out(context, deployment)


@router.delete("/deployments/{deployment_id}", response_model=OkOut, **secured(Role.editor))
def delete_deployment(deployment_id: RowId, context: Context) -> OkOut:
    """Stop every replica and forget the deployment."""
    context.deployments.delete(deployment_id)
    return OkOut()


@router.post(
    "/deployments/{deployment_id}/stop", response_model=DeploymentOut, **secured(Role.editor)
)
def stop_deployment(deployment_id: RowId, principal: Editor, context: Context) -> DeploymentOut:
    service = context.deployments
    return _out(context, service.set_state(deployment_id, "stopped", principal.username))


@router.post(
    "/deployments/{deployment_id}/start", response_model=DeploymentOut, **secured(Role.editor)
)
def start_deployment(deployment_id: RowId, principal: Editor, context: Context) -> DeploymentOut:
    service = context.deployments
    return _out(context, service.set_state(deployment_id, "running", principal.username))


@router.get(
    "/deployments/{deployment_id}/replicas",
    response_model=list[ReplicaOut],
    **secured(Role.viewer),
)
def list_replicas(deployment_id: RowId, context: Context) -> list[ReplicaOut]:
    """The replica processes (or a Kubernetes target's pods) now: pid, status, restarts, commit
    and owned partitions."""
    deployment = context.deployments.get(deployment_id)
    where = context.deployments.where(deployment)
    mode = context.supervisor.enforcer.mode.value if where == "local" else "kubernetes"
    return [
        ReplicaOut(
            index=r.index,
            status=r.status,
            pid=r.pid,
            commit=r.commit,
            restarts=r.restarts,
            started_at=r.started_at,
            last_exit_code=r.last_exit_code,
            partitions=None
            if r.partitions is None
            else [PartitionOut(topic=t, partition=p) for t, p in r.partitions],
            ready=r.ready,
            enforcement=mode,
        )
        for r in context.deployments.replicas(deployment)
    ]


def _log_out(line: LogLine) -> LogLineOut:
    return LogLineOut(seq=line.seq, time=line.time, replica=line.replica, text=line.text)


@router.get(
    "/deployments/{deployment_id}/logs",
    response_model=list[LogLineOut],
    **secured(Role.viewer),
)
def tail_logs(
    deployment_id: RowId,
    context: Context,
    tail: Annotated[int, Query(ge=1, le=5000, description="the last N lines")] = 200,
) -> list[LogLineOut]:
    """The latest output of every replica, and the supervisor's lines (starts, exits)."""
    service = context.deployments
    deployment = service.get(deployment_id)
    output = context.supervisor.log(deployment.id, service.folder(deployment))
    return [_log_out(line) for line in output.tail(tail)]


@router.get(
    "/deployments/{deployment_id}/logs/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "log lines as SSE"}},
    **secured(Role.viewer),
)
def stream_logs(
    deployment_id: RowId,
    context: Context,
    tail: Annotated[int, Query(ge=0, le=5000, description="lines of history first")] = 0,
) -> StreamingResponse:
    """Live output as server-sent events: one `data:` JSON line per log line."""
    service = context.deployments
    deployment = service.get(deployment_id)
    output = context.supervisor.log(deployment.id, service.folder(deployment))
    history = output.tail(tail)

    async def events() -> AsyncIterator[str]:
        last = history[-1].seq if history else output.last_seq
        for line in history:
            yield f"data: {_log_out(line).model_dump_json()}\n\n"
        while True:
            lines = await asyncio.to_thread(output.after, last, STREAM_WAIT_SECONDS)
            if not lines:
                yield ": keep-alive\n\n"  # also notices a client that went away
                continue
            for line in lines:
                yield f"data: {_log_out(line).model_dump_json()}\n\n"
            last = lines[-1].seq

    return StreamingResponse(events(), media_type="text/event-stream")
