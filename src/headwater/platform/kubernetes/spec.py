"""What a Kubernetes deployment of one app is made of, checked before anything is rendered.

``KubernetesTarget`` is where apps go (a namespace, the image that runs them, where their pods
clone the project from); ``AppRelease`` is one app of a project at a commit with its resources.
``check_target`` and ``check_release`` raise ``Invalid`` naming each wrong field and its fix,
so a bad value never reaches a manifest (or the cluster's own, terser, refusal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from headwater.platform.errors import Invalid
from headwater.platform.projects.manifest import (
    ENV_NAME,
    MAX_CPU,
    MAX_REPLICAS,
    MEMORY,
    MEMORY_HELP,
    MIN_CPU,
)

# RFC 1123 labels: what Kubernetes accepts as a namespace and a Service's name.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_NAMESPACE = 63
# A StatefulSet's pods carry a `controller-revision-hash` label made of its name and a hash
# (11 characters); a label value holds 63.
MAX_RELEASE_NAME = 52
STORAGE = re.compile(r"^[1-9][0-9]{0,5}(Mi|Gi|Ti)$")
STORAGE_HELP = "a size such as 512Mi, 1Gi or 2Ti"
IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$")
METRICS_PORT = 9400


@dataclass(frozen=True)
class KubernetesTarget:
    """A Kubernetes namespace apps are deployed to, and how their pods get their code."""

    namespace: str = "default"
    # The image that runs apps: Python with `headwater` (and the project's dependencies).
    image: str = "headwater:0.1.0"
    # Where pods clone the project from: the platform's address as the cluster reaches it.
    git_url: str = "http://headwater.headwater.svc:8080"
    # The image of the init container that checks the commit out.
    git_image: str = "alpine/git:2.47.2"
    state_size: str = "1Gi"  # the volume each replica keeps its state in
    storage_class: str | None = None  # None: the cluster's default class
    context: str | None = None  # the kubeconfig context to apply with; None: the current one


@dataclass(frozen=True)
class AppRelease:
    """One app of a project at a commit, as the target runs it."""

    project: str
    app: str
    commit: str
    entrypoint: str
    bootstrap: str
    replicas: int
    cpu: float
    memory: str
    env: dict[str, str] = field(default_factory=dict)
    # Environment variables whose values come from the app's Kubernetes Secret (the project's
    # secrets and the Kafka cluster's options): names only, never values.
    secret_env: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The name of the app's StatefulSet, Service and Secret."""
        return f"{self.project}-{self.app}"

    @property
    def secret_name(self) -> str:
        return f"{self.name}-secrets"


def _error(field_name: str, message: str) -> dict[str, str]:
    return {"field": field_name, "message": message}


def target_errors(target: KubernetesTarget) -> list[dict[str, str]]:
    errors = []
    if len(target.namespace) > MAX_NAMESPACE or not DNS_LABEL.match(target.namespace):
        errors.append(
            _error(
                "namespace",
                f"{target.namespace!r} is not a Kubernetes namespace name: use at most 63 "
                "lowercase letters, digits and '-', starting and ending with a letter or digit, "
                "e.g. headwater-apps",
            )
        )
    if not IMAGE.match(target.image):
        errors.append(
            _error("image", f"{target.image!r} is not an image reference, e.g. headwater:0.1.0")
        )
    if not IMAGE.match(target.git_image):
        errors.append(
            _error(
                "git_image", f"{target.git_image!r} is not an image reference, e.g. alpine/git:2"
            )
        )
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", target.git_url):
        errors.append(
            _error(
                "git_url",
                f"{target.git_url!r} is not an http(s) URL; give the platform's address as the "
                "cluster reaches it, e.g. http://headwater.tools.svc:8080",
            )
        )
    if not STORAGE.match(target.state_size):
        errors.append(
            _error(
                "state_size", f"{target.state_size!r} is not a volume size; write {STORAGE_HELP}"
            )
        )
    if target.storage_class is not None and not DNS_LABEL.match(target.storage_class):
        errors.append(
            _error("storage_class", f"{target.storage_class!r} is not a storage class name")
        )
    return errors


def release_errors(release: AppRelease) -> list[dict[str, str]]:
    errors = []
    if isinstance(release.replicas, bool) or not isinstance(release.replicas, int):
        errors.append(_error("replicas", f"{release.replicas!r} is not a whole number"))
    elif not 0 <= release.replicas <= MAX_REPLICAS:
        errors.append(
            _error(
                "replicas",
                f"{release.replicas} is out of range: give 0 (stopped) to {MAX_REPLICAS}",
            )
        )
    if isinstance(release.cpu, bool) or not isinstance(release.cpu, int | float):
        errors.append(_error("cpu", f"{release.cpu!r} is not a number of cores, e.g. 0.5"))
    elif not MIN_CPU <= release.cpu <= MAX_CPU:
        errors.append(
            _error("cpu", f"{release.cpu} cores is out of range: give {MIN_CPU} to {MAX_CPU}")
        )
    if not isinstance(release.memory, str) or not MEMORY.match(release.memory):
        errors.append(
            _error("memory", f"{release.memory!r} is not a memory size; write {MEMORY_HELP}")
        )
    if len(release.name) > MAX_RELEASE_NAME or not DNS_LABEL.match(release.name):
        errors.append(
            _error(
                "app",
                f"{release.name!r} (project-app) cannot name a StatefulSet: keep project and app "
                f"names to {MAX_RELEASE_NAME} characters together, lowercase letters, digits, '-'",
            )
        )
    if not re.match(r"^[0-9a-f]{40}$", release.commit):
        errors.append(_error("commit", f"{release.commit!r} is not a full 40-digit commit id"))
    for name in [*release.env, *release.secret_env]:
        if not ENV_NAME.match(name):
            errors.append(_error("env", f"{name!r} is not an environment variable name"))
    both = sorted(set(release.env) & set(release.secret_env))
    if both:
        errors.append(
            _error("secrets", f"{', '.join(both)} set both as plain env and as a secret: keep one")
        )
    return errors


def check(target: KubernetesTarget, release: AppRelease | None = None) -> None:
    """Raises Invalid listing every wrong field of ``target`` (and ``release``) with its fix."""
    errors = target_errors(target) + (release_errors(release) if release else [])
    if errors:
        where = f" of {release.project}/{release.app}" if release else ""
        raise Invalid(
            f"cannot deploy{where} to Kubernetes: "
            + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            errors,
        )


def target_from_options(options: dict[str, Any]) -> KubernetesTarget:
    """A target from stored or given options (unknown keys refused with the known ones)."""
    known = set(KubernetesTarget.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        message = (
            f"unknown Kubernetes option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
        raise Invalid(message, [_error(name, message) for name in unknown])
    target = KubernetesTarget(**options)
    check(target)
    return target
