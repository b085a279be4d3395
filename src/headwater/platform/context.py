"""What one server's request handlers share, built in one place: ``build_context``.

The context is a plain container: the subsystems it holds are given what they need when they
are built here, and none of them imports this module back.
"""

from __future__ import annotations

from dataclasses import dataclass

from headwater.platform.auth.ratelimit import LoginLimiter
from headwater.platform.db.session import Database
from headwater.platform.deployments.service import DeploymentService
from headwater.platform.deployments.supervisor import Supervisor
from headwater.platform.domain.clusters import ClusterService
from headwater.platform.domain.models import ModelRegistry
from headwater.platform.domain.secrets import ProjectSecretService
from headwater.platform.domain.sessions import SessionService
from headwater.platform.domain.tokens import TokenService
from headwater.platform.domain.users import UserService
from headwater.platform.metrics import AppInside, ModelScores, PlatformMetrics, StepRates
from headwater.platform.projects.store import ProjectStore
from headwater.platform.sandbox import Sandbox
from headwater.platform.secrets import SecretBox
from headwater.platform.settings import PlatformSettings
from headwater.platform.topics import TopicRates


@dataclass(frozen=True)
class PlatformContext:
    settings: PlatformSettings
    db: Database
    secrets: SecretBox
    projects: ProjectStore
    login_limiter: LoginLimiter
    # How previews and replicas are confined (see sandbox.py); the supervisor uses the same.
    sandbox: Sandbox
    # Watermark samples behind the topics' message rates: in memory, per server.
    topic_rates: TopicRates
    # The last hour of topic and deployment figures, and /metrics: in memory, per server.
    metrics: PlatformMetrics
    # Records in and out per second of each deployment's steps, kept by the step sampler.
    step_rates: StepRates
    # What each deployment's model steps scored, per version, kept by the step sampler.
    model_scores: ModelScores
    # Inside each app: busy ratio, checkpoints, watermarks, state (the last hour in `metrics`).
    app_inside: AppInside
    # Replica processes of deployments; started and stopped with the server (see server.py).
    supervisor: Supervisor
    clusters: ClusterService
    users: UserService
    tokens: TokenService
    sessions: SessionService
    project_secrets: ProjectSecretService
    deployments: DeploymentService
    models: ModelRegistry


def build_context(settings: PlatformSettings, db: Database, sandbox: Sandbox) -> PlatformContext:
    """Every subsystem of one server over ``db``, wired together."""
    box = SecretBox.load(settings.secret_key, settings.secret_key_file)
    projects = ProjectStore(db, settings.projects_dir)
    supervisor = Supervisor(sandbox=sandbox)
    clusters = ClusterService(db, box)
    project_secrets = ProjectSecretService(db, box, projects)
    models = ModelRegistry(db, projects, settings.models_dir, sandbox, settings.max_model_bytes)
    metrics = PlatformMetrics()
    return PlatformContext(
        settings=settings,
        db=db,
        secrets=box,
        projects=projects,
        login_limiter=LoginLimiter(
            settings.login_attempts,
            settings.login_window_seconds,
            per_address=settings.login_attempts_per_address,
            overall=settings.login_failures,
        ),
        sandbox=sandbox,
        topic_rates=TopicRates(),
        metrics=metrics,
        step_rates=StepRates(),
        model_scores=ModelScores(),
        app_inside=AppInside(metrics.store),
        supervisor=supervisor,
        clusters=clusters,
        users=UserService(db),
        tokens=TokenService(db),
        sessions=SessionService(db, settings.session_hours),
        project_secrets=project_secrets,
        deployments=DeploymentService(
            db, projects, clusters, project_secrets, supervisor, settings.data_dir, models.folder
        ),
        models=models,
    )
