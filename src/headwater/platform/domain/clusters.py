"""Kafka clusters the platform connects to: plain options in clear, secret options encrypted.

The default-cluster rule lives here and nowhere else: a request that names no cluster uses the
one named ``default``, else the only one configured. ``GET /api/clusters`` reports which one
that is, so the web app follows the same rule.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from headwater.kafka.settings import KafkaSettings
from headwater.platform.db.models import Cluster
from headwater.platform.db.session import Database
from headwater.platform.errors import Conflict, Invalid, NotFound
from headwater.platform.kubernetes.spec import KubernetesTarget, target_from_options
from headwater.platform.secrets import SecretBox

DEFAULT_CLUSTER = "default"
# librdkafka options whose values are credentials: refused among plain options.
SECRET_OPTION_MARKERS = ("password", "secret", "jaas", "key.pem", "oauthbearer.config", "token")
OptionValue = str | int | float | bool


def looks_secret(option: str) -> bool:
    return any(marker in option.lower() for marker in SECRET_OPTION_MARKERS)


def plain_options(cluster: Cluster) -> dict[str, Any]:
    options: dict[str, Any] = json.loads(cluster.options_json or "{}")
    return options


def secret_options(cluster: Cluster, box: SecretBox) -> dict[str, str]:
    if not cluster.secret_options:
        return {}
    values: dict[str, str] = json.loads(box.decrypt(cluster.secret_options))
    return values


def store_secret_options(cluster: Cluster, values: dict[str, str], box: SecretBox) -> None:
    cluster.secret_options = box.encrypt(json.dumps(values)) if values else ""


def kafka_settings(cluster: Cluster, box: SecretBox) -> KafkaSettings:
    """The cluster's client settings, secrets decrypted: for connecting, never for responses."""
    return KafkaSettings(
        cluster.bootstrap_servers, {**plain_options(cluster), **secret_options(cluster, box)}
    )


def deploy_target(cluster: Cluster) -> KubernetesTarget | None:
    """Where the cluster's deployments run: a Kubernetes namespace, or None for this machine."""
    stored: dict[str, Any] = json.loads(cluster.deploy_target_json or "{}")
    if stored.get("kind") != "kubernetes":
        return None
    return KubernetesTarget(**{k: v for k, v in stored.items() if k != "kind"})


def store_deploy_target(cluster: Cluster, target: dict[str, Any]) -> None:
    """Check ``target`` ({"kind": "local"} or {"kind": "kubernetes", ...}) and keep it."""
    options = dict(target)
    kind = options.pop("kind", "local")
    if kind == "local":
        if options:
            message = "a local target takes no options; give kind 'kubernetes' for a namespace"
            raise Invalid(message, [{"field": "deploy_target", "message": message}])
        cluster.deploy_target_json = "{}"
        return
    if kind != "kubernetes":
        message = f"unknown target kind {kind!r}: give 'local' (this machine) or 'kubernetes'"
        raise Invalid(message, [{"field": "deploy_target.kind", "message": message}])
    try:
        checked = target_from_options(options)
    except Invalid as exc:
        errors = [{**e, "field": f"deploy_target.{e['field']}"} for e in exc.errors]
        raise Invalid(exc.message, errors) from None
    fields = {name: getattr(checked, name) for name in KubernetesTarget.__dataclass_fields__}
    cluster.deploy_target_json = json.dumps({"kind": "kubernetes", **fields})


def target_view(cluster: Cluster) -> dict[str, Any]:
    stored: dict[str, Any] = json.loads(cluster.deploy_target_json or "{}")
    return stored if stored.get("kind") == "kubernetes" else {"kind": "local"}


def default_cluster(names: Sequence[str]) -> str | None:
    """The cluster a request naming none uses: ``default``, else the only one; None if that
    is ambiguous or nothing is configured."""
    if DEFAULT_CLUSTER in names:
        return DEFAULT_CLUSTER
    return names[0] if len(names) == 1 else None


@dataclass(frozen=True)
class ClusterView:
    """A cluster as anyone may see it: credentials named, never shown."""

    id: int
    name: str
    bootstrap_servers: str
    options: dict[str, Any]
    secret_options: list[str]
    is_default: bool
    deploy_target: dict[str, Any]  # {"kind": "local"} or {"kind": "kubernetes", ...}
    created_at: datetime
    updated_at: datetime


class ClusterService:
    """Stores clusters and resolves the one a request means."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    def connections(self) -> list[tuple[str, KafkaSettings]]:
        """Every cluster's name and client settings, secrets decrypted."""
        with self._db.session() as session:
            clusters = session.scalars(select(Cluster).order_by(Cluster.name))
            return [(c.name, kafka_settings(c, self._box)) for c in clusters]

    def list(self) -> list[ClusterView]:
        with self._db.session() as session:
            rows = list(session.scalars(select(Cluster).order_by(Cluster.name)))
            chosen = default_cluster([c.name for c in rows])
            return [self._view(c, c.name == chosen) for c in rows]

    def get(self, name: str) -> ClusterView:
        with self._db.session() as session:
            cluster = _cluster(session, name)
            return self._view(cluster, self._is_default(session, name))

    def create(
        self,
        name: str,
        bootstrap_servers: str,
        options: dict[str, OptionValue],
        secrets: dict[str, str],
        target: dict[str, Any] | None = None,
    ) -> ClusterView:
        with self._db.session() as session:
            if session.scalar(select(Cluster).where(Cluster.name == name)):
                raise Conflict(f"a cluster named {name!r} exists already")
            cluster = Cluster(
                name=name, bootstrap_servers=bootstrap_servers, options_json=json.dumps(options)
            )
            store_deploy_target(cluster, target or {"kind": "local"})
            store_secret_options(cluster, secrets, self._box)
            session.add(cluster)
            session.flush()
            return self._view(cluster, self._is_default(session, name))

    def update(
        self,
        name: str,
        bootstrap_servers: str | None = None,
        options: dict[str, OptionValue] | None = None,
        secrets: dict[str, str | None] | None = None,
        target: dict[str, Any] | None = None,
    ) -> ClusterView:
        """Change what is given; a secret set to None is removed, others are kept. A new
        target applies to deployments as they are next changed, stopped or started."""
        with self._db.session() as session:
            cluster = _cluster(session, name)
            if target is not None:
                store_deploy_target(cluster, target)
            if bootstrap_servers is not None:
                cluster.bootstrap_servers = bootstrap_servers
            if options is not None:
                cluster.options_json = json.dumps(options)
            if secrets is not None:
                values = secret_options(cluster, self._box)
                for key, value in secrets.items():
                    if value is None:
                        values.pop(key, None)
                    else:
                        values[key] = value
                store_secret_options(cluster, values, self._box)
            cluster.updated_at = datetime.now(UTC)
            return self._view(cluster, self._is_default(session, name))

    def use(self, name: str, bootstrap_servers: str) -> str | None:
        """Point the cluster ``name`` at ``bootstrap_servers``, creating it if needed: the
        bootstrap servers it had before, None if it is new."""
        with self._db.session() as session:
            cluster = session.scalar(select(Cluster).where(Cluster.name == name))
            if cluster is None:
                session.add(Cluster(name=name, bootstrap_servers=bootstrap_servers))
                return None
            previous = cluster.bootstrap_servers
            if previous != bootstrap_servers:
                cluster.bootstrap_servers = bootstrap_servers
                cluster.updated_at = datetime.now(UTC)
            return previous

    def target(self, name: str) -> KubernetesTarget | None:
        """Where deployments on cluster ``name`` run: a Kubernetes target, or None (here)."""
        with self._db.session() as session:
            return deploy_target(_cluster(session, name))

    def delete(self, name: str) -> None:
        with self._db.session() as session:
            session.delete(_cluster(session, name))

    def resolve(self, name: str | None) -> tuple[str, KafkaSettings]:
        """The named cluster, else the default one: its name and client settings."""
        with self._db.session() as session:
            if name is not None:
                cluster = _cluster(session, name)
                return cluster.name, kafka_settings(cluster, self._box)
            clusters = list(session.scalars(select(Cluster).order_by(Cluster.name)))
            if not clusters:
                raise Conflict(
                    "no Kafka cluster is configured: an admin adds one with POST /api/clusters"
                )
            chosen = default_cluster([c.name for c in clusters])
            if chosen is None:
                names = ", ".join(c.name for c in clusters)
                raise Conflict(
                    f"several clusters are configured ({names}): choose one with ?cluster=NAME, "
                    f"or name one {DEFAULT_CLUSTER!r}"
                )
            cluster = next(c for c in clusters if c.name == chosen)
            return cluster.name, kafka_settings(cluster, self._box)

    def _is_default(self, session: Session, name: str) -> bool:
        names = list(session.scalars(select(Cluster.name)))
        return default_cluster(names) == name

    def _view(self, cluster: Cluster, is_default: bool) -> ClusterView:
        return ClusterView(
            id=cluster.id,
            name=cluster.name,
            bootstrap_servers=cluster.bootstrap_servers,
            options=plain_options(cluster),
            secret_options=sorted(secret_options(cluster, self._box)),
            is_default=is_default,
            deploy_target=target_view(cluster),
            created_at=cluster.created_at,
            updated_at=cluster.updated_at,
        )


def _cluster(session: Session, name: str) -> Cluster:
    cluster = session.scalar(select(Cluster).where(Cluster.name == name))
    if cluster is None:
        raise NotFound(f"no cluster {name!r}; list clusters to see the names")
    return cluster
