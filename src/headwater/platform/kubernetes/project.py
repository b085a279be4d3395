"""A project's apps as Kubernetes releases: from its headwater.yaml at a commit.

The CLI's dry run reads a project folder; the platform reads the deployed commit. Both end in
``releases``, so both render the same manifests for the same project.
"""

from __future__ import annotations

from pathlib import Path

from headwater.platform.errors import Invalid
from headwater.platform.kubernetes.spec import AppRelease
from headwater.platform.projects.manifest import MANIFEST_FILE, AppSpec, parse_manifest


def release(
    project: str,
    app: AppSpec,
    commit: str,
    bootstrap: str,
    secret_env: tuple[str, ...] = (),
) -> AppRelease:
    """``app`` of ``project`` at ``commit``, its resources from headwater.yaml; ``secret_env``
    adds variables from the app's Secret to those its manifest entry names."""
    return AppRelease(
        project=project,
        app=app.name,
        commit=commit,
        entrypoint=app.entrypoint,
        bootstrap=bootstrap,
        replicas=app.replicas,
        cpu=app.cpu,
        memory=app.memory,
        env=dict(app.env),
        secret_env=tuple(sorted({*app.secrets, *secret_env})),
    )


def folder_releases(folder: Path, project: str, commit: str, bootstrap: str) -> list[AppRelease]:
    """Every app of the project in ``folder`` (its headwater.yaml) at ``commit``."""
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise Invalid(f"{folder} has no {MANIFEST_FILE}: give the project's folder")
    files = {
        str(path.relative_to(folder)) for path in folder.rglob("*.py") if ".git" not in path.parts
    }
    manifest = parse_manifest(manifest_path.read_bytes(), files)
    return [release(project, app, commit, bootstrap) for app in manifest.apps]


def head_commit(folder: Path) -> str:
    """The commit checked out in ``folder``'s Git repository (its HEAD)."""
    from dulwich.errors import NotGitRepository
    from dulwich.repo import Repo

    try:
        with Repo.discover(str(folder)) as repo:
            return repo.head().decode("ascii")
    except (NotGitRepository, KeyError):
        raise Invalid(
            f"{folder} is not a Git repository with a commit: commit it, or give --commit",
            [{"field": "commit", "message": "give the full commit id the pods check out"}],
        ) from None
