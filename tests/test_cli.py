"""The ``headwater`` command, run as a subprocess against both brokers Headwater starts:
Apache Kafka (the test suite's) and Tansu (the default of `headwater broker` and `up`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka_helpers import FAST_GROUP, wait_until

from headwater.kafka.admin import TopicAdmin
from headwater.kafka.broker import free_port
from headwater.kafka.settings import KafkaSettings
from headwater.kafka.tansu import TansuBroker

CLI = [sys.executable, "-m", "headwater.cli"]


@pytest.fixture(scope="module", params=["apache", "tansu"])
def bootstrap(request: pytest.FixtureRequest) -> Iterator[str]:
    """The tests of this module run on both brokers (overrides the suite's Apache Kafka)."""
    if request.param == "apache":
        yield os.environ["HEADWATER_TEST_BROKER"]
        return
    with TansuBroker() as broker:
        yield broker.bootstrap_servers


@pytest.fixture(scope="module")
def admin(bootstrap: str) -> TopicAdmin:
    return TopicAdmin(KafkaSettings(bootstrap))


def headwater(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def read_lines(process: subprocess.Popen[str], stream: str = "stdout") -> list[str]:
    """The process's stdout (or stderr) lines so far, filled in by a thread as they arrive."""
    lines: list[str] = []

    def pump() -> None:
        source = process.stdout if stream == "stdout" else process.stderr
        assert source is not None
        for line in source:
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


# topics
def test_topics_create_list_delete_round_trip(bootstrap: str, admin: TopicAdmin, unique: Any):
    name = unique("cli-topic")
    created = headwater(
        "topics", "create", name, "--partitions", "3",
        "--config", "cleanup.policy=compact", "--config", "retention.ms=3600000",
        "--broker", bootstrap,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert f"created topic {name} (3 partitions)" in created.stdout
    assert admin.describe_config(name)["cleanup.policy"] == "compact"

    listed = headwater("topics", "list", "--json", "--broker", bootstrap)
    assert listed.returncode == 0, listed.stderr
    assert {"name": name, "partitions": 3} in json.loads(listed.stdout)
    table = headwater("topics", "list", env={"HEADWATER_BROKER": bootstrap})
    assert any(line.split() == [name, "3"] for line in table.stdout.splitlines())

    deleted = headwater("topics", "delete", name, "--yes", "--broker", bootstrap)
    assert deleted.returncode == 0, deleted.stderr
    assert name not in admin.list_topics()


def test_topics_create_existing_fails(bootstrap: str, make_topic: Callable[..., str]):
    name = make_topic("cli-exists")
    result = headwater("topics", "create", name, "--broker", bootstrap)
    assert result.returncode == 1
    assert "already exist" in result.stderr and name in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        (["topics", "create", "t", "--partitions", "-2"], "argument --partitions"),
        (["topics", "create", "t", "--replication", "zero"], "argument --replication"),
        (["topics", "create", "t", "--config", "retention.ms"], "argument --config"),
        (["topics", "create", "bad name"], "argument NAME"),
        (["topics", "delete", "t"], "argument --yes"),
        (["topics", "list", "--broker", "nohost"], "argument --broker"),
        (["tail", "t", "--from", "middle"], "argument --from"),
        (["tail", "t", "--limit", "0"], "argument --limit"),
        (["run", "no-such-app.py"], "argument APP"),
        (["run", "app.py", "--metrics", "9400"], "argument --metrics"),
        (["broker", "--port", "70000"], "argument --port"),
        (["broker", "--data-dir", "kafka-data"], "--data-dir needs --apache"),
    ],
)
def test_usage_errors_exit_2_naming_the_argument(args: list[str], argument: str):
    result = headwater(*args)
    assert result.returncode == 2
    assert argument in result.stderr
    assert "usage: headwater" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_broker_is_a_clear_runtime_error():
    result = headwater("topics", "list", "--broker", f"127.0.0.1:{free_port()}", "--timeout", "1")
    assert result.returncode == 1
    assert "cannot reach the Kafka cluster" in result.stderr
    assert "Traceback" not in result.stderr
    assert "rdkafka" not in result.stderr  # librdkafka's connection log is kept out of the way


# tail
def test_tail_from_beginning_with_limit_prints_decoded_records(
    bootstrap: str, make_topic: Callable[..., str], produce: Callable[..., None]
):
    topic = make_topic("cli-tail", partitions=2)
    sent = {f"k{i}": {"n": i, "name": f"order {i}"} for i in range(6)}
    produce(topic, [(k.encode(), orjson.dumps(v)) for k, v in sent.items()])

    result = headwater("tail", topic, "--from", "beginning", "--limit", "4", "--broker", bootstrap)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 4
    for record in records:
        assert record["topic"] == topic
        assert record["value"] == sent[record["key"]]
        assert record["partition"] in (0, 1)
        assert isinstance(record["offset"], int) and isinstance(record["timestamp"], int)


def test_tail_exit_at_end_reads_everything_and_shows_undecodable_values(
    bootstrap: str, make_topic: Callable[..., str], produce: Callable[..., None]
):
    topic = make_topic("cli-tail-end", partitions=3)
    produce(topic, [(b"a", b'{"ok": 1}'), (b"b", b"not json"), (None, b'{"ok": 2}')])

    result = headwater(
        "tail", topic, "--from", "beginning", "--exit-at-end", "--headers", "--broker", bootstrap
    )
    assert result.returncode == 0, result.stderr
    records = sorted((json.loads(line) for line in result.stdout.splitlines()), key=str)
    by_key = {r["key"]: r for r in records}
    assert set(by_key) == {"a", "b", None}
    assert by_key["a"]["value"] == {"ok": 1} and "error" not in by_key["a"]
    assert by_key["b"]["value"] == "not json" and "value is not json" in by_key["b"]["error"]
    assert by_key[None]["headers"] == []


def test_tail_follows_new_records_and_stops_on_sigint(
    bootstrap: str, make_topic: Callable[..., str], produce: Callable[..., None]
):
    topic = make_topic("cli-tail-live")
    process = start("tail", topic, "--broker", bootstrap)
    try:
        lines = read_lines(process)

        def seen() -> bool:
            # It starts at "latest": keep producing until it has picked records up.
            produce(topic, [(b"live", b'{"n": 1}')])
            return bool(lines)

        wait_until(seen, timeout=60, interval=0.2)
        assert json.loads(lines[0])["value"] == {"n": 1}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()


def test_tail_missing_topic_fails_clearly(bootstrap: str, unique: Any):
    result = headwater("tail", unique("absent"), "--broker", bootstrap)
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "headwater topics list" in result.stderr
    assert "Traceback" not in result.stderr


# run
APP_TEMPLATE = """
from headwater import App

app = App({group!r}, consumer_config={fast!r})
sdf = app.dataframe(app.topic({source!r}))
sdf["double"] = sdf["n"] * 2
sdf.to_topic(app.topic({sink!r}))
"""


def write_app(path: Path, source: str, sink: str, group: str, main_block: bool) -> Path:
    code = APP_TEMPLATE.format(source=source, sink=sink, group=group, fast=FAST_GROUP)
    if main_block:
        code += '\nif __name__ == "__main__":\n    app.run()\n'
    path.write_text(textwrap.dedent(code))
    return path


@pytest.mark.parametrize("main_block", [True, False], ids=["main-block", "module-app"])
def test_run_processes_records(
    tmp_path: Path,
    bootstrap: str,
    make_topic: Callable[..., str],
    produce: Callable[..., None],
    read: Callable[..., list[Any]],
    unique: Any,
    main_block: bool,
):
    source, sink = make_topic("cli-run-in", partitions=2), make_topic("cli-run-out")
    app_file = write_app(tmp_path / "app.py", source, sink, unique("cli-run"), main_block)
    produce(source, [(str(i).encode(), orjson.dumps({"n": i})) for i in range(20)])

    process = start("run", str(app_file), "--broker", bootstrap)
    try:
        wait_until(lambda: len(read(sink)) == 20, timeout=60)
        doubled = sorted(orjson.loads(m.value())["double"] for m in read(sink))
        assert doubled == [2 * i for i in range(20)]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, process.stderr.read() if process.stderr else ""
    finally:
        process.kill()


@pytest.mark.parametrize("main_block", [True, False], ids=["main-block", "module-app"])
def test_run_until_end_processes_the_input_and_exits_0(
    tmp_path: Path,
    bootstrap: str,
    make_topic: Callable[..., str],
    produce: Callable[..., None],
    read: Callable[..., list[Any]],
    unique: Any,
    main_block: bool,
):
    source, sink = make_topic("cli-until-in", partitions=2), make_topic("cli-until-out")
    app_file = write_app(tmp_path / "app.py", source, sink, unique("cli-until"), main_block)
    produce(source, [(str(i).encode(), orjson.dumps({"n": i})) for i in range(30)])
    # No signal and no waiting for output: the run ends by itself once the input is read.
    result = headwater("run", str(app_file), "--broker", bootstrap, "--until", "end")
    assert result.returncode == 0, result.stderr
    assert sorted(orjson.loads(m.value())["double"] for m in read(sink)) == [
        2 * i for i in range(30)
    ]


def test_run_until_a_bad_value_names_the_flag(tmp_path: Path, unique: Any):
    app_file = write_app(tmp_path / "app.py", "in", "out", unique("g"), False)
    result = headwater("run", str(app_file), "--until", "next tuesday")
    assert result.returncode == 2
    assert "argument --until: 'next tuesday' is neither 'end' nor a time" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_against_missing_topic_exits_1_with_a_clear_message(
    tmp_path: Path, bootstrap: str, unique: Any
):
    missing = unique("cli-missing")
    app_file = write_app(tmp_path / "app.py", missing, unique("out"), unique("g"), True)
    result = headwater("run", str(app_file), env={"HEADWATER_BROKER": bootstrap})
    assert result.returncode == 1
    assert f"input topic(s) '{missing}' do not exist" in result.stderr
    assert f"headwater topics create {missing}" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_file_without_an_app_says_what_to_add(tmp_path: Path):
    app_file = tmp_path / "empty.py"
    app_file.write_text("x = 1\n")
    result = headwater("run", str(app_file))
    assert result.returncode == 1
    assert "no App" in result.stderr and "app.run()" in result.stderr


# broker
@pytest.mark.parametrize("kind", [[], ["--apache"]], ids=["tansu", "apache"])
def test_broker_answers_then_stops_on_sigterm(kind: list[str]):
    port = free_port()
    process = start("broker", "--port", str(port), *kind)
    try:
        first = process.stdout.readline() if process.stdout else ""
        assert f"listening on 127.0.0.1:{port}" in first
        result = headwater("topics", "create", "from-cli", "--broker", f"127.0.0.1:{port}")
        assert result.returncode == 0, result.stderr
        listed = headwater("topics", "list", "--json", "--broker", f"127.0.0.1:{port}")
        assert {"name": "from-cli", "partitions": 1} in json.loads(listed.stdout)

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not accepts_connections(port)
    finally:
        process.kill()


def test_broker_on_a_busy_port_fails_clearly():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        result = headwater("broker", "--port", str(sock.getsockname()[1]))
    assert result.returncode == 1
    assert "already in use" in result.stderr and "--port" in result.stderr
