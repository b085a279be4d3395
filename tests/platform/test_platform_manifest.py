"""headwater.yaml validation: every mistake named by field, with its fix."""

from __future__ import annotations

import pytest

from headwater.platform.errors import Invalid
from headwater.platform.projects.manifest import parse_manifest

GOOD = """
apps:
  - name: scorer
    entrypoint: app.py
    inputs: [transactions]
    outputs: [scores]
    replicas: 2
    cpu: 0.5
    memory: 1Gi
    env: {LOG_LEVEL: info}
    secrets: {DB_PASSWORD: warehouse-password}
"""


def app(**fields: object) -> str:
    base = {"name": "a", "entrypoint": "app.py", "inputs": "[x]", **fields}
    return "apps:\n  - " + "\n    ".join(f"{k}: {v}" for k, v in base.items()) + "\n"


def test_a_full_manifest() -> None:
    spec = parse_manifest(GOOD, {"app.py"}).apps[0]
    assert (spec.replicas, spec.cpu, spec.memory_bytes) == (2, 0.5, 1 << 30)
    assert spec.secrets == {"DB_PASSWORD": "warehouse-password"}
    defaults = parse_manifest(app()).apps[0]
    assert (defaults.replicas, defaults.memory, defaults.outputs) == (1, "256Mi", [])


def test_a_source_app_reads_nothing_and_writes_its_outputs() -> None:
    source = parse_manifest(app(inputs="[]", outputs="[events]")).apps[0]
    assert (source.inputs, source.outputs) == ([], ["events"])


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (app(replicas=-1), "apps[0].replicas", "greater than or equal to 1"),
        (app(cpu=0), "apps[0].cpu", "greater than or equal to 0.01"),
        (app(memory="512MB"), "apps[0].memory", "write a size from 16Mi to 999Gi"),
        (app(replica=2), "apps[0].replica", "did you mean 'replicas'"),
        (app(inputs="[]"), "apps[0].outputs", "is a source: list the topics it writes"),
        (app(inputs="['bad topic']"), "apps[0].inputs[0]", "pattern"),
        (app(entrypoint="../x.py"), "apps[0].entrypoint", "relative to the project root"),
        (app(env="{PORT: 8080}"), "apps[0].env.PORT", "quote the value"),
        (app(secrets="{'1X': s}"), "apps[0].secrets", "environment variable name"),
        (app(name="Bad_Name"), "apps[0].name", "pattern"),
        ("apps: []", "apps", "at least 1"),
        ("name: x", "apps", "is required"),
        ("- a\n- b", "headwater.yaml", "mapping with an `apps:` list"),
        ("apps: [", "headwater.yaml", "not valid YAML at line 1"),
        (app() + "  - name: a\n    entrypoint: b.py\n    inputs: [y]\n", "apps", "two apps"),
    ],
)
def test_mistakes_name_the_field_and_the_fix(text: str, field: str, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_manifest(text)
    fields = {e["field"]: e["message"] for e in caught.value.errors}
    assert field in fields, fields
    assert message in fields[field]
    assert field in caught.value.message


def test_entrypoint_must_exist_in_the_project() -> None:
    with pytest.raises(Invalid, match=r"apps\[0\].entrypoint: 'app.py' is not a file"):
        parse_manifest(app(), {"main.py"})
