"""Replicas, CPU and memory of a deployment: headwater.yaml gives the defaults, a value set on
the deployment (the deploy dialog, the deployment's page, the API) overrides it.

One rule, so a redeploy is never silent: at a new commit, every value not overridden takes that
commit's headwater.yaml value; an overridden one stays until it is reset, which hands it back to
the manifest.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from headwater.platform.db.models import Deployment
from headwater.platform.projects.manifest import AppSpec

Resource = Literal["replicas", "cpu", "memory"]
RESOURCES: tuple[Resource, ...] = ("replicas", "cpu", "memory")


def overrides(deployment: Deployment) -> list[Resource]:
    found = json.loads(deployment.overrides_json or "[]")
    return [name for name in RESOURCES if name in found]


def apply(
    deployment: Deployment,
    manifest: AppSpec,
    values: dict[Resource, Any],
    reset: list[Resource] | None = None,
) -> None:
    """Set ``values`` as overrides, hand ``reset`` back to the manifest, and take ``manifest``'s
    value for every resource not overridden."""
    kept = [name for name in overrides(deployment) if name not in (reset or [])]
    kept += [name for name, value in values.items() if value is not None and name not in kept]
    for name in RESOURCES:
        value = values.get(name)
        if value is not None:
            setattr(deployment, name, value)
        elif name not in kept:
            setattr(deployment, name, getattr(manifest, name))
    deployment.overrides_json = json.dumps([name for name in RESOURCES if name in kept])
