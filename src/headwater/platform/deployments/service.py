"""Deployments as a service: validate, store, and hand the supervisor what to run.

``DeploymentService`` is the Python API the HTTP routes (and other tools) call. Every
check happens before anything is stored or started, so a refused request changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from headwater.kafka.settings import OPTIONS_ENV, KafkaSettings
from headwater.models.registry import MODELS_DIR_ENV
from headwater.platform.db.models import Deployment
from headwater.platform.db.session import Database
from headwater.platform.deployments import resources
from headwater.platform.deployments.checkout import checkout, prune
from headwater.platform.deployments.limits import Limits
from headwater.platform.deployments.on_kubernetes import (
    ApplierFactory,
    connect_applier,
    pod_replicas,
    release_of,
    secret_values,
)
from headwater.platform.deployments.resources import Resource
from headwater.platform.deployments.supervisor import DeploymentSpec, ReplicaInfo, Supervisor
from headwater.platform.domain.clusters import ClusterService
from headwater.platform.domain.secrets import ProjectSecretService
from headwater.platform.errors import Conflict, Invalid, NotFound, PlatformError, Unavailable
from headwater.platform.kubernetes.apply import KubernetesApplier
from headwater.platform.kubernetes.spec import AppRelease, KubernetesTarget
from headwater.platform.projects.manifest import MANIFEST_FILE, AppSpec, memory_size, parse_manifest
from headwater.platform.projects.repository import ProjectRepository
from headwater.platform.projects.store import ProjectStore

log = logging.getLogger("headwater.platform.deployments")

State = Literal["running", "stopped"]


@dataclass(frozen=True)
class Changes:
    """Fields of a deployment to change; None keeps the current value."""

    commit: str | None = None
    replicas: int | None = None
    cpu: float | None = None
    memory: str | None = None
    env: dict[str, str] | None = None
    secrets: dict[str, str] | None = None
    reset: tuple[Resource, ...] = ()  # hand these back to headwater.yaml's values


def memory_bytes(memory: str) -> int:
    size = memory_size(memory)
    if size is None:
        raise Invalid(
            f"memory {memory!r} is not a size; write e.g. 256Mi or 2Gi",
            [{"field": "memory", "message": "a size such as 256Mi or 2Gi"}],
        )
    return size


class DeploymentService:
    """Creates, changes, stops, starts and deletes deployments of one server."""

    def __init__(
        self,
        db: Database,
        projects: ProjectStore,
        clusters: ClusterService,
        secrets: ProjectSecretService,
        supervisor: Supervisor,
        data_dir: Path,
        models_folder: Callable[[str], Path] | None = None,
        kubernetes: ApplierFactory = connect_applier,
    ) -> None:
        self.db = db
        self.projects = projects
        self.clusters = clusters
        self.secrets = secrets
        self.supervisor = supervisor
        self.data_dir = data_dir
        self.models_folder = models_folder
        # Deployments on a cluster whose target is Kubernetes are applied with this.
        self.kubernetes = kubernetes
        self._appliers: dict[KubernetesTarget, KubernetesApplier] = {}

    # Reading
    def on_cluster(self, cluster: str) -> list[Deployment]:
        with self.db.session() as session:
            query = select(Deployment).where(Deployment.cluster == cluster)
            return list(session.scalars(query.order_by(Deployment.id)))

    def replicas(self, deployment: Deployment) -> list[ReplicaInfo]:
        """The deployment's replicas now: the supervisor's processes, or its pods."""
        try:
            found = self._on_kubernetes(deployment)
        except PlatformError:  # its project or manifest cannot be read: no release to look for
            return []
        if found is None:
            return self.supervisor.replicas(deployment.id)
        applier, release = found
        return pod_replicas(applier, release)

    def where(self, deployment: Deployment) -> str:
        """Where the deployment runs, for its views: this machine or a Kubernetes namespace."""
        target = self._target(deployment)
        return "local" if target is None else f"kubernetes:{deployment.project}-{deployment.app}"

    def list(self, project: str) -> list[Deployment]:
        self.projects.get(project)
        with self.db.session() as session:
            query = select(Deployment).where(Deployment.project == project)
            return list(session.scalars(query.order_by(Deployment.app)))

    def get(self, deployment_id: int) -> Deployment:
        with self.db.session() as session:
            return self._row(session, deployment_id)

    def manifest_entry(self, deployment: Deployment) -> AppSpec:
        """The deployment's app entry in headwater.yaml at its deployed commit."""
        with self.projects.open(deployment.project) as repo:
            return _manifest_app(repo, deployment.commit, deployment.app)

    # Changing
    def create(
        self,
        project: str,
        app: str,
        author: str,
        commit: str | None = None,
        cluster: str | None = None,
        state: State = "running",
        changes: Changes | None = None,
    ) -> Deployment:
        """Deploy ``app`` of ``project`` at ``commit`` (HEAD by default), defaults from the
        app's entry in headwater.yaml at that commit."""
        changes = changes or Changes()
        full, spec_app = self._app_at(project, app, commit)
        cluster_name = self._cluster(cluster)[0]
        now = datetime.now(UTC)
        deployment = Deployment(
            project=project,
            app=app,
            cluster=cluster_name,
            commit=full,
            env_json=json.dumps({**spec_app.env, **(changes.env or {})}),
            secrets_json=json.dumps({**spec_app.secrets, **(changes.secrets or {})}),
            desired_state=state,
            created_by=author,
            updated_by=author,
            created_at=now,
            updated_at=now,
        )
        resources.apply(deployment, spec_app, _resource_values(changes))
        try:
            with self.db.session() as session:
                self.secrets.values(session, project, json.loads(deployment.secrets_json))
                session.add(deployment)
                session.flush()
                if self._apply_kubernetes(session, deployment):
                    spec = None
                else:
                    spec = self._spec(session, deployment) if state == "running" else None
        except IntegrityError:
            raise Conflict(
                f"app {app!r} of project {project!r} is deployed already; change that deployment "
                "with PATCH /api/deployments/{id}",
                [{"field": "app", "message": "deployed already"}],
            ) from None
        if spec is not None:
            self.supervisor.deploy(spec)
        return deployment

    def update(self, deployment_id: int, author: str, changes: Changes) -> Deployment:
        """Scale, change limits or environment, or redeploy another commit (a rollback); the
        resources not set on the deployment follow the headwater.yaml of its commit."""
        with self.db.session() as session:
            deployment = self._row(session, deployment_id)
            ref = changes.commit if changes.commit is not None else deployment.commit
            deployment.commit, manifest = self._app_at(deployment.project, deployment.app, ref)
            resources.apply(deployment, manifest, _resource_values(changes), list(changes.reset))
            if changes.env is not None:
                deployment.env_json = json.dumps(changes.env)
            if changes.secrets is not None:
                # Each one must exist, in this deployment's project.
                self.secrets.values(session, deployment.project, changes.secrets)
                deployment.secrets_json = json.dumps(changes.secrets)
            deployment.updated_by = author
            deployment.updated_at = datetime.now(UTC)
            running = deployment.desired_state == "running"
            if self._apply_kubernetes(session, deployment):
                return deployment
            spec = self._spec(session, deployment) if running else None
        if spec is not None:
            self.supervisor.deploy(spec)
            prune(spec.root, {spec.commit})
        return deployment

    def set_state(self, deployment_id: int, state: State, author: str) -> Deployment:
        """Stop every replica, or start them again at the deployment's commit."""
        with self.db.session() as session:
            deployment = self._row(session, deployment_id)
            deployment.desired_state = state
            deployment.updated_by = author
            deployment.updated_at = datetime.now(UTC)
            if self._apply_kubernetes(session, deployment):
                return deployment
            spec = self._spec(session, deployment) if state == "running" else None
        if spec is not None:
            self.supervisor.deploy(spec)
        else:
            self.supervisor.stop(deployment_id)
        return deployment

    def delete(self, deployment_id: int) -> None:
        with self.db.session() as session:
            deployment = self._row(session, deployment_id)
            found = self._on_kubernetes(deployment)
            if found is not None:
                applier, release = found
                applier.delete(release)
            session.delete(deployment)
        self.supervisor.forget(deployment_id)

    def reconcile(self) -> None:
        """Bring every deployment to its desired state (at server start)."""
        with self.db.session() as session:
            rows = list(session.scalars(select(Deployment).order_by(Deployment.id)))
            for deployment in rows:
                if deployment.desired_state != "running":
                    continue
                if self.clusters.target(deployment.cluster) is not None:
                    continue  # Kubernetes keeps its StatefulSets running without the server
                try:
                    spec = self._spec(session, deployment)
                except Exception as exc:  # one broken deployment must not stop the others
                    root = self.folder(deployment)
                    self.supervisor.log(deployment.id, root).write(
                        None, f"cannot start: {getattr(exc, 'message', exc)}"
                    )
                    log.warning("deployment %s cannot start: %s", deployment.id, exc)
                    continue
                self.supervisor.deploy(spec)

    # Helpers
    def folder(self, deployment: Deployment) -> Path:
        return self.data_dir / "deployments" / deployment.project / deployment.app

    def _row(self, session: Session, deployment_id: int) -> Deployment:
        deployment = session.get(Deployment, deployment_id)
        if deployment is None:
            raise NotFound(
                f"no deployment {deployment_id}; list a project's deployments to see ids"
            )
        return deployment

    def _app_at(self, project: str, app: str, ref: str | None) -> tuple[str, AppSpec]:
        """The full commit id of ``ref`` and ``app``'s entry in its headwater.yaml."""
        with self.projects.open(project) as repo:
            try:
                commit = repo.resolve(ref)
            except NotFound as exc:
                raise NotFound(exc.message, [{"field": "commit", "message": exc.message}]) from None
            except Invalid as exc:
                raise Invalid(exc.message, [{"field": "commit", "message": exc.message}]) from None
            return commit, _manifest_app(repo, commit, app)

    def _on_kubernetes(self, deployment: Deployment) -> tuple[KubernetesApplier, AppRelease] | None:
        """The applier and (secret-less) release of a deployment on a Kubernetes target."""
        target = self._target(deployment)
        if target is None:
            return None
        _, settings = self._cluster(deployment.cluster)
        refs: dict[str, str] = json.loads(deployment.secrets_json or "{}")
        secret_env = tuple(sorted(secret_values(dict.fromkeys(refs, ""), settings)))
        entry = self.manifest_entry(deployment)
        release = release_of(deployment, entry.entrypoint, settings, secret_env)
        return self._applier(target), release

    def _target(self, deployment: Deployment) -> KubernetesTarget | None:
        try:
            return self.clusters.target(deployment.cluster)
        except NotFound:  # its cluster was deleted: it ran, if at all, here
            return None

    def _applier(self, target: KubernetesTarget) -> KubernetesApplier:
        """One applier (one client connection) per target."""
        if target not in self._appliers:
            self._appliers[target] = self.kubernetes(target)
        return self._appliers[target]

    def _apply_kubernetes(self, session: Session, deployment: Deployment) -> bool:
        """Apply ``deployment`` (scaled to 0 when stopped) if its cluster's target is Kubernetes;
        False if it runs on this machine."""
        target = self.clusters.target(deployment.cluster)
        if target is None:
            return False
        _, settings = self._cluster(deployment.cluster)
        refs: dict[str, str] = json.loads(deployment.secrets_json or "{}")
        values = secret_values(self.secrets.values(session, deployment.project, refs), settings)
        with self.projects.open(deployment.project) as repo:
            entry = _manifest_app(repo, deployment.commit, deployment.app)
        release = release_of(deployment, entry.entrypoint, settings, tuple(sorted(values)))
        try:
            # A stopped deployment is applied whole with 0 replicas: its volumes stay.
            self._applier(target).apply(release, values)
        except PlatformError:
            raise
        except Exception as exc:  # the client's errors: unreachable, refused, forbidden
            raise Unavailable(
                f"Kubernetes did not apply {release.name} in namespace {target.namespace!r}: "
                f"{exc}; check the cluster's target and the platform's access to it"
            ) from exc
        self.supervisor.stop(deployment.id)  # if it ran here before its cluster's target moved
        return True

    def _cluster(self, name: str | None) -> tuple[str, KafkaSettings]:
        return self.clusters.resolve(name)

    def _spec(self, session: Session, deployment: Deployment) -> DeploymentSpec:
        """What the supervisor runs for ``deployment``: checkout, environment, cluster, limits."""
        env: dict[str, str] = json.loads(deployment.env_json or "{}")
        refs: dict[str, str] = json.loads(deployment.secrets_json or "{}")
        secrets = self.secrets.values(session, deployment.project, refs)
        _, settings = self._cluster(deployment.cluster)
        root = self.folder(deployment)
        with self.projects.open(deployment.project) as repo:
            app = _manifest_app(repo, deployment.commit, deployment.app)
            checkout(repo, root, deployment.commit)
        # The cluster's client options (SASL, SSL, credentials) reach the app like its secrets.
        # Nothing of the server's own environment does: the sandbox adds a few safe variables.
        cluster_env = {OPTIONS_ENV: json.dumps(settings.options)} if settings.options else {}
        # The project's model registry, read-only: models:/NAME@ALIAS follows its alias file.
        readable: tuple[Path, ...] = ()
        if self.models_folder is not None:
            models = self.models_folder(deployment.project)
            models.mkdir(parents=True, exist_ok=True)
            cluster_env[MODELS_DIR_ENV] = str(models)
            readable = (models,)
        return DeploymentSpec(
            id=deployment.id,
            name=f"{deployment.project}/{deployment.app}",
            root=root,
            commit=deployment.commit,
            entrypoint=app.entrypoint,
            bootstrap=settings.bootstrap_servers,
            replicas=deployment.replicas,
            limits=Limits(deployment.cpu, memory_bytes(deployment.memory)),
            env={**env, **secrets, **cluster_env},
            secret_values=frozenset(value for value in secrets.values() if value),
            readable=readable,
        )


def _resource_values(changes: Changes) -> dict[Resource, Any]:
    return {name: getattr(changes, name) for name in resources.RESOURCES}


def _manifest_app(repo: ProjectRepository, commit: str, app: str) -> AppSpec:
    """``app``'s entry in the headwater.yaml of ``commit``."""
    snapshot = repo.snapshot(commit)
    if MANIFEST_FILE not in snapshot:
        message = f"commit {commit[:12]} has no {MANIFEST_FILE}: add one listing the app"
        raise Invalid(message, [{"field": "commit", "message": message}])
    manifest = parse_manifest(repo.read_blob(snapshot[MANIFEST_FILE][0]), set(snapshot))
    for entry in manifest.apps:
        if entry.name == app:
            return entry
    names = ", ".join(a.name for a in manifest.apps)
    message = f"no app {app!r} in {MANIFEST_FILE} at commit {commit[:12]}; its apps: {names}"
    raise NotFound(message, [{"field": "app", "message": message}])
