"""What every request handler of one server shares: settings, database, secrets, projects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from headwater.platform.auth.ratelimit import LoginLimiter
from headwater.platform.db.session import Database
from headwater.platform.deployments.supervisor import Supervisor
from headwater.platform.metrics import PlatformMetrics, StepRates
from headwater.platform.projects.store import ProjectStore
from headwater.platform.sandbox import Sandbox, SandboxMode
from headwater.platform.secrets import SecretBox
from headwater.platform.settings import PlatformSettings
from headwater.platform.topics import TopicRates


@dataclass
class PlatformContext:
    settings: PlatformSettings
    db: Database
    secrets: SecretBox
    projects: ProjectStore
    login_limiter: LoginLimiter
    # How previews and replicas are confined (see sandbox.py); the supervisor uses the same.
    sandbox: Sandbox = field(default_factory=lambda: Sandbox(SandboxMode.none))
    # Watermark samples behind the topics' message rates: in memory, per server.
    topic_rates: TopicRates = field(default_factory=TopicRates)
    # The last hour of topic and deployment figures, and /metrics: in memory, per server.
    metrics: PlatformMetrics = field(default_factory=PlatformMetrics)
    # Records in and out per second of each deployment's steps, kept by the step sampler.
    step_rates: StepRates = field(default_factory=StepRates)
    # Replica processes of deployments; started and stopped with the server (see server.py).
    supervisor: Supervisor = field(default_factory=Supervisor)


def get_context(request: Request) -> PlatformContext:
    context: PlatformContext = request.app.state.platform
    return context


# A route parameter ``context: Context`` receives the server's context.
Context = Annotated[PlatformContext, Depends(get_context)]
