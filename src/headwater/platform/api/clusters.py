"""Kafka cluster connections: everyone reads them (without secrets), admins change them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from headwater.platform.api.errors import ERROR_RESPONSES
from headwater.platform.api.schemas import NAME, ClusterPath, OkOut, described_pattern
from headwater.platform.auth.dependencies import secured
from headwater.platform.auth.roles import Role
from headwater.platform.clusters import (
    looks_secret,
    plain_options,
    secret_options,
    store_secret_options,
)
from headwater.platform.context import Context, PlatformContext
from headwater.platform.db.models import Cluster
from headwater.platform.errors import Conflict, NotFound

router = APIRouter(prefix="/api/clusters", tags=["clusters"], responses=ERROR_RESPONSES)
OptionValue = str | int | float | bool
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


class ClusterIn(BaseModel):
    name: str = Field(pattern=NAME, description="lowercase letters, digits, -")
    bootstrap_servers: str = Field(pattern=BOOTSTRAP, examples=["localhost:9092"])
    options: dict[str, OptionValue] = Field(
        default_factory=dict, description="librdkafka options, e.g. security.protocol"
    )
    secret_options: dict[str, str] = Field(
        default_factory=dict, description="librdkafka credentials, e.g. sasl.password; write-only"
    )

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
    created_at: datetime
    updated_at: datetime


def _out(cluster: Cluster, context: PlatformContext) -> ClusterOut:
    return ClusterOut(
        id=cluster.id,
        name=cluster.name,
        bootstrap_servers=cluster.bootstrap_servers,
        options=plain_options(cluster),
        secret_options=sorted(secret_options(cluster, context.secrets)),
        created_at=cluster.created_at,
        updated_at=cluster.updated_at,
    )


def _cluster(session: Session, name: str) -> Cluster:
    cluster = session.scalar(select(Cluster).where(Cluster.name == name))
    if cluster is None:
        raise NotFound(f"no cluster {name!r}; list clusters to see the names")
    return cluster


@router.get("", response_model=list[ClusterOut], **secured(Role.viewer))
def list_clusters(context: Context) -> list[ClusterOut]:
    with context.db.session() as session:
        return [_out(c, context) for c in session.scalars(select(Cluster).order_by(Cluster.name))]


@router.get("/{name}", response_model=ClusterOut, **secured(Role.viewer))
def get_cluster(name: ClusterPath, context: Context) -> ClusterOut:
    with context.db.session() as session:
        return _out(_cluster(session, name), context)


@router.post("", response_model=ClusterOut, status_code=201, **secured(Role.admin))
def create_cluster(body: ClusterIn, context: Context) -> ClusterOut:
    with context.db.session() as session:
        if session.scalar(select(Cluster).where(Cluster.name == body.name)):
            raise Conflict(f"a cluster named {body.name!r} exists already")
        cluster = Cluster(
            name=body.name,
            bootstrap_servers=body.bootstrap_servers,
            options_json=json.dumps(body.options),
        )
        store_secret_options(cluster, body.secret_options, context.secrets)
        session.add(cluster)
        session.flush()
        return _out(cluster, context)


@router.patch("/{name}", response_model=ClusterOut, **secured(Role.admin))
def update_cluster(name: ClusterPath, body: ClusterPatch, context: Context) -> ClusterOut:
    with context.db.session() as session:
        cluster = _cluster(session, name)
        if body.bootstrap_servers is not None:
            cluster.bootstrap_servers = body.bootstrap_servers
        if body.options is not None:
            cluster.options_json = json.dumps(body.options)
        if body.secret_options is not None:
            values = secret_options(cluster, context.secrets)
            for key, value in body.secret_options.items():
                if value is None:
                    values.pop(key, None)
                else:
                    values[key] = value
            store_secret_options(cluster, values, context.secrets)
        cluster.updated_at = datetime.now(UTC)
        return _out(cluster, context)


@router.delete("/{name}", response_model=OkOut, **secured(Role.admin))
def delete_cluster(name: ClusterPath, context: Context) -> OkOut:
    with context.db.session() as session:
        session.delete(_cluster(session, name))
    return OkOut()
