"""Kubernetes manifests of a project's apps: valid for the API, and what each app asked for.

Validated offline against the Kubernetes API schema of ``KUBERNETES_VERSION`` (the schemas ship
in the kubernetes-validate wheel; nothing is downloaded)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from headwater.cli import main
from headwater.platform.errors import Invalid
from headwater.platform.kubernetes.project import folder_releases, release
from headwater.platform.kubernetes.render import (
    STATE_DIR,
    render,
    secret_manifest,
    statefulset_manifest,
)
from headwater.platform.kubernetes.spec import AppRelease, KubernetesTarget, target_from_options
from headwater.platform.projects.manifest import MANIFEST_FILE, AppSpec, parse_manifest
from headwater.platform.projects.templates import template_files

KUBERNETES_VERSION = "1.33.0"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
TARGET = KubernetesTarget(namespace="streaming", image="registry.example/headwater:0.1.0")


def validate(manifest: dict[str, object]) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def demo_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "demo"
    for name, content in template_files("demo", "demo").items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


def app_release(**changes: object) -> AppRelease:
    spec = AppSpec(
        name="scorer",
        entrypoint="scorer.py",
        inputs=["features"],
        outputs=["scores"],
        replicas=3,
        cpu=1.5,
        memory="768Mi",
        env={"LOG_LEVEL": "info"},
        secrets={"DB_PASSWORD": "warehouse-password"},
    )
    base = release("shop", spec, COMMIT, "kafka.streaming.svc:9092")
    return AppRelease(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def container(statefulset: dict[str, object], name: str = "app") -> dict[str, object]:
    spec = statefulset["spec"]["template"]["spec"]  # type: ignore[index]
    found: dict[str, object] = next(
        c for c in [*spec["containers"], *spec["initContainers"]] if c["name"] == name
    )
    return found


def test_the_demo_projects_manifests_validate_against_the_kubernetes_schema(
    tmp_path: Path,
) -> None:
    releases = folder_releases(demo_folder(tmp_path), "demo", COMMIT, "kafka:9092")
    assert [r.app for r in releases] == ["demo-events", "demo-features", "demo-scorer"]
    kinds = []
    for app in releases:
        for manifest in render(app, TARGET):
            validate(manifest)
            kinds.append(manifest["kind"])
    assert kinds == ["Service", "StatefulSet"] * 3


def test_replicas_and_limits_come_from_the_release() -> None:
    statefulset = statefulset_manifest(app_release(), TARGET)
    assert statefulset["spec"]["replicas"] == 3
    resources = container(statefulset)["resources"]
    assert resources == {
        "requests": {"cpu": "1500m", "memory": "768Mi"},
        "limits": {"cpu": "1500m", "memory": "768Mi"},
    }
    scaled = statefulset_manifest(app_release(replicas=0, cpu=0.25, memory="2Gi"), TARGET)
    assert scaled["spec"]["replicas"] == 0
    assert container(scaled)["resources"]["limits"] == {"cpu": "250m", "memory": "2Gi"}  # type: ignore[index]
    validate(scaled)


def test_secrets_are_secret_references_and_their_values_stay_out_of_the_statefulset() -> None:
    app = app_release()
    statefulset = statefulset_manifest(app, TARGET)
    env = {e["name"]: e for e in container(statefulset)["env"]}  # type: ignore[attr-defined]
    assert env["DB_PASSWORD"] == {
        "name": "DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "shop-scorer-secrets", "key": "DB_PASSWORD"}},
    }
    assert env["LOG_LEVEL"] == {"name": "LOG_LEVEL", "value": "info"}
    assert env["HEADWATER_BROKER"]["value"] == "kafka.streaming.svc:9092"
    secret = secret_manifest(app, TARGET, {"DB_PASSWORD": "s3cret-value"})
    validate(secret)
    assert base64.b64decode(secret["data"]["DB_PASSWORD"]) == b"s3cret-value"
    rendered = json.dumps(render(app, TARGET))
    assert "s3cret-value" not in rendered
    assert base64.b64encode(b"s3cret-value").decode() not in rendered


def test_each_replica_keeps_its_state_on_a_volume_of_its_own() -> None:
    target = KubernetesTarget(namespace="streaming", state_size="20Gi", storage_class="fast-ssd")
    statefulset = statefulset_manifest(app_release(), target)
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "state"
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["spec"]["storageClassName"] == "fast-ssd"
    mounts = {m["name"]: m["mountPath"] for m in container(statefulset)["volumeMounts"]}  # type: ignore[attr-defined]
    assert mounts == {"code": "/app", "state": STATE_DIR}
    # The code is checked out at the release's commit before the app starts.
    checkout = container(statefulset, "checkout")
    assert {"name": "COMMIT", "value": COMMIT} in checkout["env"]  # type: ignore[operator]
    validate(statefulset)


@pytest.mark.parametrize(
    ("changes", "field", "fix"),
    [
        ({"replicas": -1}, "replicas", "give 0 (stopped) to 64"),
        ({"memory": "12 gigs"}, "memory", "e.g. 256Mi or 2Gi"),
        ({"cpu": 0}, "cpu", "give 0.01 to 64"),
        ({"commit": "HEAD"}, "commit", "full 40-digit commit id"),
    ],
)
def test_bad_release_values_name_the_field_and_the_fix(
    changes: dict[str, object], field: str, fix: str
) -> None:
    with pytest.raises(Invalid) as raised:
        render(app_release(**changes), TARGET)
    assert [e["field"] for e in raised.value.errors] == [field]
    assert fix in raised.value.message


@pytest.mark.parametrize("namespace", ["Streaming", "team_a", "-apps", "a" * 64])
def test_a_namespace_kubernetes_refuses_is_refused_before_rendering(namespace: str) -> None:
    with pytest.raises(Invalid) as raised:
        render(app_release(), KubernetesTarget(namespace=namespace))
    assert raised.value.errors[0]["field"] == "namespace"
    assert "lowercase letters, digits and '-'" in raised.value.message


def test_target_options_refuse_unknown_keys_and_bad_sizes() -> None:
    with pytest.raises(Invalid, match="unknown Kubernetes option"):
        target_from_options({"namespaces": "apps"})
    with pytest.raises(Invalid, match="state_size: '5 GB' is not a volume size"):
        target_from_options({"state_size": "5 GB"})
    assert target_from_options({"namespace": "apps"}).namespace == "apps"


def test_deploy_dry_run_writes_one_valid_yaml_file_per_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = demo_folder(tmp_path)
    out = tmp_path / "manifests"
    flags = ["--commit", COMMIT, "--namespace", "streaming", "--out", str(out)]
    code = main(["deploy", str(folder), "--target", "kubernetes", "--dry-run", *flags])
    assert code == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["demo-events.yaml", "demo-features.yaml", "demo-scorer.yaml"]
    documents = list(yaml.safe_load_all((out / "demo-features.yaml").read_text()))
    for document in documents:
        validate(document)
    statefulset = documents[1]
    manifest = parse_manifest(template_files("demo", "demo")[MANIFEST_FILE])
    features = next(a for a in manifest.apps if a.name == "demo-features")
    assert container(statefulset)["resources"]["limits"]["memory"] == features.memory  # type: ignore[index]
    assert statefulset["metadata"]["namespace"] == "streaming"


def test_deploy_refuses_bad_input_with_the_field_and_applies_nothing_without_dry_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = demo_folder(tmp_path)
    assert main(["deploy", str(folder), "--dry-run", "--commit", COMMIT, "--namespace", "A_B"]) == 2
    assert "namespace: 'A_B' is not a Kubernetes namespace name" in capsys.readouterr().err
    assert main(["deploy", str(folder), "--commit", COMMIT]) == 2
    assert "add --dry-run" in capsys.readouterr().err
    # Not a Git repository and no --commit: say how to give one.
    assert main(["deploy", str(folder), "--dry-run"]) == 2
    assert "give --commit" in capsys.readouterr().err
    text = (folder / MANIFEST_FILE).read_text().replace("memory: 512Mi", "memory: 12 gigs", 1)
    (folder / MANIFEST_FILE).write_text(text)
    assert main(["deploy", str(folder), "--dry-run", "--commit", COMMIT]) == 2
    assert "apps[1].memory: '12 gigs' is not a memory size" in capsys.readouterr().err
