"""Kafka cluster connections: everyone reads them (without secrets), admins change them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from headwater.platform.api.dependencies import Context, secured
from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import NAME, ClusterPath, OkOut, described_pattern
from headwater.platform.auth.roles import Role
from headwater.platform.domain.clusters import ClusterView, OptionValue, looks_secret

router = APIRouter(prefix="/api/clusters", tags=["clusters"], responses=ERROR_RESPONSES)
# HOST:PORT[,HOST:PORT...]; the port's range (1-65535) is checked by the validator below.
BOOTSTRAP = described_pattern(
    r"^[^,\s\x00]+:[0-9]{1,5}(,\s*[^,\s\x00]+:[0-9]{1,5})*$",
    "not HOST:PORT[,HOST:PORT...] (without spaces or NUL characters), e.g. localhost:9092",
)


def _check_bootstrap(value: str) -> str:
    for server in value.split(","):
        host, sep, port = server.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not HOST:PORT[,HOST:PORT...], e.g. localhost:9092")
    return value


def _check_options(value: dict[str, OptionValue]) -> dict[str, OptionValue]:
    for key in value:
        if key == "bootstrap.servers":
            raise ValueError("set bootstrap servers with bootstrap_servers, not options")
        if looks_secret(key):
            raise ValueError(f"{key!r} holds a credential: put it in secret_options instead")
    return value


class DeployTarget(BaseModel):
    """Where the cluster's deployments run: `local` (this machine's supervised processes) or a
    `kubernetes` namespace (StatefulSets applied by the platform; see docs/kubernetes.md)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "kubernetes"] = "local"
    namespace: str | None = Field(default=None, max_length=63, examples=["streaming"])
    image: str | None = Field(default=None, max_length=500, description="the image that runs apps")
    git_url: str | None = Field(
        default=None, max_length=500, description="the platform's address as pods reach it"
    )
    git_image: str | None = Field(default=None, max_length=500)
    state_size: str | None = Field(default=None, max_length=16, examples=["1Gi"])
    storage_class: str | None = Field(default=None, max_length=63)
    context: str | None = Field(default=None, max_length=253, description="kubeconfig context")

    def options(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ClusterIn(BaseModel):
    name: str = Field(pattern=NAME, description="lowercase letters, digits, -")
    bootstrap_servers: str = Field(pattern=BOOTSTRAP, examples=["localhost:9092"])
    options: dict[str, OptionValue] = Field(
        default_factory=dict, description="librdkafka options, e.g. security.protocol"
    )
    secret_options: dict[str, str] = Field(
        default_factory=dict, description="librdkafka credentials, e.g. sasl.password; write-only"
    )
    deploy_target: DeployTarget = Field(default_factory=DeployTarget)

    @field_validator("bootstrap_servers")
    @classmethod
    def _bootstrap(cls, value: str) -> str:
        return _check_bootstrap(value)

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, OptionValue]) -> dict[str, OptionValue]:
        return _check_options(value)


class ClusterPatch(BaseModel):
    bootstrap_servers: str | None = Field(default=None, pattern=BOOTSTRAP)
    options: dict[str, OptionValue] | None = Field(default=None, description="replaces all options")
    secret_options: dict[str, str | None] | None = Field(
        default=None, description="sets these credentials; null removes one; others are kept"
    )
    deploy_target: DeployTarget | None = Field(
        default=None, description="replaces where deployments run, from their next change on"
    )

    @field_validator("bootstrap_servers")
    @classmethod
    def _bootstrap(cls, value: str | None) -> str | None:
        return None if value is None else _check_bootstrap(value)

    @field_validator("options")
    @classmethod
    def _options(cls, value: dict[str, OptionValue] | None) -> dict[str, OptionValue] | None:
        return None if value is None else _check_options(value)


class ClusterOut(BaseModel):
    id: int
    name: str
    bootstrap_servers: str
    options: dict[str, OptionValue]
    secret_options: list[str] = Field(description="names of the credentials that are set")
    default: bool = Field(
        description="the cluster a request naming none uses: the one named `default`, else the "
        "only one configured"
    )
    deploy_target: DeployTarget
    created_at: datetime
    updated_at: datetime


def _out(cluster: ClusterView) -> ClusterOut:
    return ClusterOut(
        id=cluster.id,
        name=cluster.name,
        bootstrap_servers=cluster.bootstrap_servers,
        options=cluster.options,
        secret_options=cluster.secret_options,
        default=cluster.is_default,
        deploy_target=DeployTarget.model_validate(cluster.deploy_target),
        created_at=cluster.created_at,
        updated_at=cluster.updated_at,
    )


@router.get("", response_model=list[ClusterOut], **secured(Role.viewer))
def list_clusters(context: Context) -> list[ClusterOut]:
    return [_out(c) for c in context.clusters.list()]


@router.get("/{name}", response_model=ClusterOut, **secured(Role.viewer))
def get_cluster(name: ClusterPath, context: Context) -> ClusterOut:
    return _out(context.clusters.get(name))


@router.post("", response_model=ClusterOut, status_code=201, **secured(Role.admin))
def create_cluster(body: ClusterIn, context: Context) -> ClusterOut:
    return _out(
        context.clusters.create(
            body.name,
            body.bootstrap_servers,
            body.options,
            body.secret_options,
            body.deploy_target.options(),
        )
    )


@router.patch("/{name}", response_model=ClusterOut, **secured(Role.admin))
def update_cluster(name: ClusterPath, body: ClusterPatch, context: Context) -> ClusterOut:
    return _out(
        context.clusters.update(
            name,
            body.bootstrap_servers,
            body.options,
            body.secret_options,
            None if body.deploy_target is None else body.deploy_target.options(),
        )
    )


@router.delete("/{name}", response_model=OkOut, **secured(Role.admin))
def delete_cluster(name: ClusterPath, context: Context) -> OkOut:
    context.clusters.delete(name)
    return OkOut()
