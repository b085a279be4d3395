"""``headwater deploy``: a project's apps as Kubernetes manifests, for review or GitOps.

Its parser is in ``headwater.cli``, which imports this module only when the command runs.

``--dry-run`` writes them without a cluster: one YAML file per app (its Service and
StatefulSet). Secret values are never written: the output names the Secret each app reads and
the keys it needs, to create with ``kubectl create secret generic`` or a secrets operator.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from headwater.platform.errors import PlatformError
from headwater.platform.kubernetes.project import folder_releases, head_commit
from headwater.platform.kubernetes.render import GIT_TOKEN_KEY, render, to_yaml
from headwater.platform.kubernetes.spec import KubernetesTarget, check


def run_deploy(args: argparse.Namespace) -> int:
    try:
        return _deploy(args)
    except PlatformError as exc:
        print(f"{args.parser.prog}: error: {exc.message}", file=sys.stderr)
        return 2


def _deploy(args: argparse.Namespace) -> int:
    if not args.dry_run:
        print(
            f"{args.parser.prog}: error: the CLI renders manifests only: add --dry-run (and "
            "apply them with kubectl or GitOps), or deploy from the platform to a cluster "
            "whose target is Kubernetes",
            file=sys.stderr,
        )
        return 2
    folder: Path = args.folder.resolve()
    given = {
        "namespace": args.namespace,
        "image": args.image,
        "git_url": args.git_url,
        "git_image": args.git_image,
        "state_size": args.state_size,
        "storage_class": args.storage_class,
    }
    target = KubernetesTarget(**{key: value for key, value in given.items() if value is not None})
    check(target)
    commit = args.commit or head_commit(folder)
    project = args.project or folder.name
    releases = folder_releases(folder, project, commit, args.broker)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    for release in releases:
        keys = [*release.secret_env, f"{GIT_TOKEN_KEY} (optional)"]
        header = (
            f"# {project}/{release.app} at {commit[:12]}: reads the Secret "
            f"{release.secret_name} (keys: {', '.join(keys)}), not written here\n"
        )
        text = header + to_yaml(render(release, target))
        if args.out is None:
            sys.stdout.write("---\n" + text)
        else:
            path = args.out / f"{release.app}.yaml"
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 0
