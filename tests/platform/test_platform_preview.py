"""Preview runs through the API: an app of a project over recent records of its inputs, in a
child process, against the real broker; outputs are returned, never produced."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka_helpers import read_all
from model_helpers import fraud_model, upload
from platform_server import LiveServer

from headwater.kafka.admin import TopicAdmin
from headwater.kafka.settings import KafkaSettings
from headwater.platform.projects.templates import topic_names
from headwater.topic import Topic

RAISING_APP = """\
from headwater import App

app = App("raiser", on_error="{on_error}")
numbers = app.topic("{topic}", value="json")


def invert(value):
    print("inverting", value["n"])
    return {{"inverse": 1 / value["n"]}}


app.dataframe(numbers).apply(invert).to_topic(app.topic("{topic}-out"))
"""
MANIFEST = """\
apps:
  - name: raiser
    entrypoint: app.py
    inputs: [{topic}]
"""
RAISE_LINE = 9  # the line of ``1 / value["n"]`` above


@pytest.fixture
def cluster(live: LiveServer, bootstrap: str) -> str:
    name = f"preview-{uuid.uuid4().hex[:6]}"
    with live.client("admin") as admin:
        made = admin.post("/api/clusters", json={"name": name, "bootstrap_servers": bootstrap})
        assert made.status_code == 201, made.text
    return name


def ensure_topic(bootstrap: str, name: str) -> None:
    TopicAdmin(KafkaSettings(bootstrap)).create([Topic(name)], exist_ok=True)


def new_project(live: LiveServer, template: str | None = None) -> str:
    name = f"p-{uuid.uuid4().hex[:8]}"
    with live.client("editor") as editor:
        made = editor.post("/api/projects", json={"name": name, "template": template})
        assert made.status_code == 201, made.text
    return name


def write(live: LiveServer, project: str, files: dict[str, str]) -> None:
    with live.client("editor") as editor:
        for path, content in files.items():
            put = editor.put(f"/api/projects/{project}/files/{path}", json={"content": content})
            assert put.status_code == 200, put.text


def preview(
    live: LiveServer, project: str, cluster: str, role: str = "editor", **body: Any
) -> httpx.Response:
    with live.client(role) as client:
        return client.post(
            f"/api/projects/{project}/preview", params={"cluster": cluster}, json=body, timeout=120
        )


def values(records: list[dict[str, Any]]) -> list[tuple[None, bytes]]:
    return [(None, orjson.dumps(r)) for r in records]


@pytest.fixture
def raiser(live: LiveServer, bootstrap: str, produce: Callable[..., None]) -> Iterator[str]:
    """A project whose app divides by its input's ``n``, over a topic holding n = 2, 0."""
    topic = f"numbers-{uuid.uuid4().hex[:6]}"
    ensure_topic(bootstrap, topic)
    produce(topic, values([{"n": 2}, {"n": 0}]))
    project = new_project(live)
    write(
        live,
        project,
        {
            "app.py": RAISING_APP.format(topic=topic, on_error="dead-letter"),
            "headwater.yaml": MANIFEST.format(topic=topic),
        },
    )
    yield project


TEMPLATE_SAMPLES: dict[str, tuple[str, Callable[[str], list[dict[str, Any]]], str]] = {
    # template: (input topic, records made from a unique marker, the output topic's slot)
    "hello-stream": ("events", lambda m: [{"name": m}, {"name": f"{m}-2"}], "greetings"),
    "ml-scoring": (
        "transactions",
        lambda m: [{"amount": 900.0, "hour": 3, "id": m}, {"amount": 5.0, "hour": 12, "id": m}],
        "scores",
    ),
    "windowed-features": (
        "purchases",
        lambda m: [
            {"user": m, "amount": 10.0, "ts": 1_000},
            {"user": m, "amount": 20.0, "ts": 30_000},
        ],
        "features",
    ),
}


@pytest.mark.parametrize("template", sorted(TEMPLATE_SAMPLES))
def test_a_preview_of_each_template_returns_its_outputs_and_produces_nothing(
    live: LiveServer,
    cluster: str,
    bootstrap: str,
    produce: Callable[..., None],
    template: str,
) -> None:
    topic, make, slot = TEMPLATE_SAMPLES[template]
    marker = uuid.uuid4().hex
    records = make(marker)
    project = new_project(live, template)
    output = topic_names(template, project)[slot]
    ensure_topic(bootstrap, topic)
    ensure_topic(bootstrap, output)
    produce(topic, values(records))
    before = len(read_all(bootstrap, [output]))

    response = preview(live, project, cluster, records=len(records))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["error"] is None, result["error"]
    assert result["ref"] == "workspace" and result["timed_out"] is False
    assert result["inputs"] == {topic: len(records)}
    out = result["outputs"][output]
    assert result["output_counts"][output] == len(out)
    if template == "hello-stream":
        assert [r["greeting"] for r in out] == [f"Hello, {marker}!", f"Hello, {marker}-2!"]
    elif template == "ml-scoring":
        assert [r["flagged"] for r in out] == [True, False]
        assert all(r["id"] == marker and 0 <= r["score"] <= 1 for r in out)
    else:
        assert [(r["purchases"], r["total"]) for r in out] == [(2, 30.0)]
        assert out[0]["_key"] == marker
    # Outputs were captured, not produced; no consumer group was left behind.
    assert len(read_all(bootstrap, [output])) == before


def test_a_raising_app_returns_the_traceback_with_the_users_line(
    live: LiveServer, cluster: str, raiser: str
) -> None:
    # Dead-lettering apps keep going: the failing record carries the user's frame.
    result = preview(live, raiser, cluster, records=2).json()
    assert result["error"] is None
    assert [r["inverse"] for r in next(iter(result["outputs"].values()))] == [0.5]
    (dead,) = result["dead_letters"]
    assert dead["error_type"] == "ZeroDivisionError"
    assert {"file": "app.py", "line": RAISE_LINE, "function": "invert"} in dead["frames"]
    assert f'File "app.py", line {RAISE_LINE}, in invert' in dead["traceback"]
    assert "inverting 0" in result["logs"]

    # An app that raises stops at the error: the traceback shows the user's files only.
    app = preview_files(live, raiser)["app.py"].replace("dead-letter", "raise")
    write(live, raiser, {"app.py": app})
    result = preview(live, raiser, cluster, records=2).json()
    error = result["error"]
    assert error["stage"] == "run" and error["type"] == "ZeroDivisionError"
    assert error["frames"] == [{"file": "app.py", "line": RAISE_LINE, "function": "invert"}]
    assert 'return {"inverse": 1 / value["n"]}' in error["traceback"]
    assert "headwater/runtime" not in error["traceback"]
    assert error["traceback"].rstrip().endswith("ZeroDivisionError: division by zero")

    # A syntax error is reported at import, with its line.
    write(live, raiser, {"app.py": "from headwater import App\n\napp = App(\n"})
    error = preview(live, raiser, cluster).json()["error"]
    assert error["stage"] == "import" and error["type"] == "SyntaxError"
    assert error["frames"][-1]["file"] == "app.py" and error["frames"][-1]["line"] == 3


def preview_files(live: LiveServer, project: str) -> dict[str, str]:
    with live.client("viewer") as viewer:
        tree = viewer.get(f"/api/projects/{project}/files").json()["files"]
        return {
            f["path"]: viewer.get(f"/api/projects/{project}/files/{f['path']}").json()["content"]
            for f in tree
        }


def test_a_preview_runs_a_commit_or_the_working_tree(
    live: LiveServer, cluster: str, raiser: str
) -> None:
    with live.client("editor") as editor:
        committed = editor.post(f"/api/projects/{raiser}/commits", json={"message": "divide"})
        assert committed.status_code == 201, committed.text
        commit = committed.json()["id"]
    app = preview_files(live, raiser)["app.py"].replace("1 / value", "10 / value")
    write(live, raiser, {"app.py": app})

    def inverses(**body: Any) -> list[float]:
        result = preview(live, raiser, cluster, records=2, **body).json()
        return [r["inverse"] for r in next(iter(result["outputs"].values()))]

    assert inverses() == [5.0]  # the working tree
    assert inverses(commit=commit[:10]) == [0.5]
    result = preview(live, raiser, cluster, records=2, commit=commit).json()
    assert result["ref"] == commit


def test_a_preview_runs_the_editors_unsaved_changes_without_saving_them(
    live: LiveServer, cluster: str, raiser: str
) -> None:
    saved = preview_files(live, raiser)["app.py"]
    unsaved = saved.replace("1 / value", "100 / value")
    result = preview(live, raiser, cluster, records=2, files={"./app.py": unsaved}).json()
    assert result["error"] is None, result["error"]
    assert result["ref"] == "workspace" and result["unsaved"] == ["app.py"]
    assert [r["inverse"] for r in next(iter(result["outputs"].values()))] == [50.0]
    assert preview_files(live, raiser)["app.py"] == saved  # nothing was written


def test_a_preview_reads_live_data_for_some_seconds(
    live: LiveServer, cluster: str, raiser: str, produce: Callable[..., None]
) -> None:
    topic = preview_files(live, raiser)["headwater.yaml"].split("inputs: [")[1].split("]")[0]
    done = threading.Event()

    def keep_producing() -> None:
        while not done.wait(0.2):
            produce(topic, values([{"n": 4}]))

    producer = threading.Thread(target=keep_producing)
    producer.start()
    try:
        result = preview(live, raiser, cluster, seconds=4, timeout=60).json()
    finally:
        done.set()
        producer.join()
    assert result["error"] is None, result["error"]
    assert result["inputs"][topic] >= 1
    assert {r["inverse"] for r in next(iter(result["outputs"].values()))} == {0.25}


def test_a_preview_past_its_timeout_is_stopped(live: LiveServer, cluster: str, raiser: str) -> None:
    sleeper = "import time\n\nprint('starting', flush=True)\ntime.sleep(120)\n"
    write(live, raiser, {"app.py": sleeper})
    # Long enough for the child to start on a busy machine, far below the sleep.
    result = preview(live, raiser, cluster, timeout=15).json()
    assert result["timed_out"] is True
    assert result["error"]["stage"] == "timeout" and "15 s" in result["error"]["message"]
    assert "starting" in result["logs"]
    assert result["duration_ms"] < 60_000


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"commit": "0123456789abcdef0123456789abcdef01234567"}, 404, None),
        ({"commit": "not-a-sha"}, 422, None),
        ({"app": "nope"}, 404, "app"),
        ({"records": 0}, 422, "records"),
        ({"records": 5, "seconds": 2}, 422, "body"),
        ({"surprise": 1}, 422, "surprise"),
        ({"files": {"../escape.py": "x = 1"}}, 422, "files"),
        ({"files": {"app.py": "x = 1"}, "commit": "HEAD"}, 422, "body"),
        ({"files": {"app.py": "#" * 20_000}}, 413, "files.app.py"),
    ],
)
def test_bad_preview_requests_get_a_clear_4xx(
    live: LiveServer,
    cluster: str,
    raiser: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    response = preview(live, raiser, cluster, **body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    if field is not None:
        assert any(field in e["field"] for e in response.json()["errors"]), response.json()


def test_a_preview_of_an_app_whose_input_topic_is_missing_is_a_404(
    live: LiveServer, cluster: str, raiser: str
) -> None:
    manifest = MANIFEST.format(topic="no-such-topic-here")
    app = RAISING_APP.format(topic="no-such-topic-here", on_error="raise")
    write(live, raiser, {"app.py": app, "headwater.yaml": manifest})
    response = preview(live, raiser, cluster)
    assert response.status_code == 404, response.text
    assert "no-such-topic-here" in response.json()["detail"]


def test_a_preview_needs_an_editor(live: LiveServer, cluster: str, raiser: str) -> None:
    assert preview(live, raiser, cluster, role="viewer").status_code == 403
    with live.client() as anonymous:
        response = anonymous.post(f"/api/projects/{raiser}/preview", json={})
        assert response.status_code == 401
    with live.client("editor") as editor:
        malformed = editor.post(
            f"/api/projects/{raiser}/preview",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        assert malformed.status_code == 400 and "JSON" in malformed.json()["detail"]
    with live.client("editor") as editor:
        missing = editor.post("/api/projects/no-such-project/preview", json={})
        assert missing.status_code == 404


SCORING_APP = """\
from headwater import App

app = App("scorer")
payments = app.dataframe(app.topic("{topic}", value="json"))
payments.predict("models:/fraud@production").to_topic(app.topic("{topic}-scores"))
"""


def test_a_preview_scores_with_the_projects_registry_model(
    live: LiveServer,
    cluster: str,
    bootstrap: str,
    produce: Callable[..., None],
    tmp_path: Path,
) -> None:
    topic = f"payments-{uuid.uuid4().hex[:6]}"
    ensure_topic(bootstrap, topic)
    produce(topic, values([{"amount": 120.0, "night": 1}, {"amount": 8.0, "night": 0}]))
    project = new_project(live)
    write(
        live,
        project,
        {"app.py": SCORING_APP.format(topic=topic), "headwater.yaml": MANIFEST.format(topic=topic)},
    )
    # Without a production version the preview says what to do.
    missing = preview(live, project, cluster, records=2).json()["error"]
    assert "models:/fraud@production" in missing["message"], missing
    with live.client("editor") as editor:
        made = upload(
            editor,
            project,
            "fraud",
            fraud_model(tmp_path).read_bytes(),
            filename="fraud.joblib",
            alias="production",
        )
        assert made.status_code == 201, made.text
    result = preview(live, project, cluster, records=2).json()
    assert result["error"] is None, result["error"]
    scored = next(iter(result["outputs"].values()))
    assert [r["prediction"] for r in scored] == [1, 0]
    assert [r["model_version"] for r in scored] == [1, 1]
