"""Each project template is a complete app: its manifest is valid and its pipeline runs."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

from headwater.platform.projects.manifest import parse_manifest
from headwater.platform.projects.templates import TEMPLATES, template_files

SAMPLES: dict[str, tuple[list[dict[str, Any]], str, str, list[Any]]] = {
    # template: (input records, output topic, column, expected values)
    "hello-stream": (
        [{"name": "Ada"}, {}],
        "greetings",
        "greeting",
        ["Hello, Ada!", "Hello, stranger!"],
    ),
    "windowed-features": (
        [
            {"user": "ann", "amount": 10.0, "ts": 1_000},
            {"user": "ann", "amount": 20.0, "ts": 30_000},
            {"user": "bob", "amount": -1.0, "ts": 31_000},
            {"user": "ann", "amount": 5.0, "ts": 61_000},
        ],
        "user-features",
        "total",
        [30.0, 5.0],  # one result per user and minute, as each window closes
    ),
    "ml-scoring": (
        [{"amount": 900.0, "hour": 3}, {"amount": 5.0, "hour": 12}],
        "scores",
        "flagged",
        [True, False],
    ),
    "demo": (  # its first app with inputs: features; the events source is a script
        [
            {"customer_id": "c1", "price": 10.0, "quantity": 2, "event_time": 1_000},
            {"customer_id": "c1", "price": 5.0, "quantity": 1, "event_time": 2_000},
            {"customer_id": "c1", "price": 1.0, "quantity": 1, "event_time": 6_000},
        ],
        "demo-features",
        "spend",
        [25.0, 1.0],  # one result per customer and 5-second window
    ),
}


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_template_runs(template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for path, data in template_files(template).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    manifest = parse_manifest(
        (tmp_path / "headwater.yaml").read_text(), set(template_files(template))
    )
    app_spec = next(app for app in manifest.apps if app.inputs)
    records, output, column, expected = SAMPLES[template]
    assert app_spec.outputs == [output]
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = runpy.run_path(str(tmp_path / app_spec.entrypoint), run_name="template")
    result = namespace["app"].test({app_spec.inputs[0]: records})
    assert result.outputs[output][column].tolist() == expected
    assert result.dead_letters.empty
