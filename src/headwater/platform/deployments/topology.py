"""What a deployment reads and writes, and the consumer group it reads with.

The manifest entry at the deployed commit names the topics; the running topology, once a
replica has reported it, adds the internal ones (repartition, dead letters) and the group.
The graph and a deployment's charts both use this, so they agree on what is "in" and "out".
"""

from __future__ import annotations

from dataclasses import dataclass

from headwater.platform.db.models import Deployment
from headwater.platform.deployments.service import DeploymentService
from headwater.platform.deployments.supervisor import Supervisor
from headwater.platform.errors import PlatformError


@dataclass(frozen=True)
class DeploymentTopics:
    group: str | None  # None until a replica has reported it
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def consumed(self) -> tuple[str, ...]:
        """Inputs that are not its own outputs (a repartition topic is both): its intake."""
        return tuple(t for t in self.inputs if t not in self.outputs)

    @property
    def produced(self) -> tuple[str, ...]:
        """Outputs that are not its own inputs: what it hands on to others."""
        return tuple(t for t in self.outputs if t not in self.inputs)


def deployment_topics(
    deployments: DeploymentService, supervisor: Supervisor, row: Deployment
) -> DeploymentTopics:
    reported = supervisor.last_reported(row.id)
    try:
        entry = deployments.manifest_entry(row)
        inputs, outputs = set(entry.inputs), set(entry.outputs)
    except PlatformError:  # the project or its manifest changed under the deployment
        inputs, outputs = set(), set()
    if reported is not None:
        inputs.update(reported.inputs)
        outputs.update(reported.outputs)
    return DeploymentTopics(
        group=reported.group if reported else None,
        inputs=tuple(sorted(inputs)),
        outputs=tuple(sorted(outputs)),
    )
