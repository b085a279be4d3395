"""Each project template is a complete app for the topics picked for it: its manifest is valid,
its pipeline runs, and the names it was given are the ones it uses."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

from headwater.platform.projects.manifest import parse_manifest
from headwater.platform.projects.templates import TEMPLATES, template_files, topic_names

SAMPLES: dict[str, tuple[list[dict[str, Any]], str, str, list[Any]]] = {
    # template: (input records, output topic slot, column, expected values)
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
        "features",
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
        "features",
        "spend",
        [25.0, 1.0],  # one result per customer and 5-second window
    ),
}


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_template_runs(template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    picked = {slot.name: f"picked-{slot.name}" for slot in TEMPLATES[template].topics}
    files = template_files(template, "my-project", picked)
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
        assert b"{{" not in data, f"{path} keeps a placeholder"
    manifest = parse_manifest((tmp_path / "headwater.yaml").read_text(), set(files))
    app_spec = next(app for app in manifest.apps if app.inputs)
    records, output_slot, column, expected = SAMPLES[template]
    output = picked[output_slot]
    assert app_spec.outputs == [output]
    assert app_spec.name.startswith("my-project")
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = runpy.run_path(str(tmp_path / app_spec.entrypoint), run_name="template")
    app = namespace["app"]
    # Its consumer group and dead-letter topic are the project's own.
    assert app.name.startswith("my-project")
    assert app.dead_letter_topic.name == f"{app.name}.dlq"
    assert app_spec.inputs[0] in [t.name for t in app.input_topics]
    result = app.test({app_spec.inputs[0]: records})
    assert result.outputs[output][column].tolist() == expected
    assert result.dead_letters.empty


def test_topics_not_picked_take_the_templates_defaults_for_the_project() -> None:
    assert topic_names("demo", "demo") == {
        "orders": "demo-orders",
        "features": "demo-features",
        "scores": "demo-scores",
    }
    assert topic_names("hello-stream", "shop", {"events": "clicks"}) == {
        "events": "clicks",
        "greetings": "shop-greetings",
    }
