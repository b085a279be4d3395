"""Crash harness: a stateful app run as a subprocess, SIGKILLed at random moments, checked
against an oracle computed from the input.

The app keeps a running count and sum per key (``apply(stateful=True)``) and writes every update
(``{"seq", "count", "sum"}``, keyed like its input) to an output topic. Since every record of a
key lands in one partition, in order, the oracle is exact: the updates of a key with N records
count 1..N, each with the running sum of that key's values so far and the ``seq`` of the input
that made it. Under exactly-once the read_committed output must be exactly that; under
at-least-once every update must be there (repeats allowed, each with the right sum).
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from kafka_helpers import FAST_GROUP, group_committed, read_all, wait_until

from headwater.state import PartitionStore
from headwater.state.encoding import CHECKPOINT_KEY, decode_value, split_entry_key

log = logging.getLogger("crash_harness")

STORE = "totals"

APP_SCRIPT = """
import json
import logging
import sys
import time

from headwater import App

logging.basicConfig(
    level=logging.INFO,
    stream=sys.stderr,
    format="%(asctime)s.%(msecs)03d %(name)s %(levelname)s %(message)s",
    datefmt="%H:%M:%S",
)
config = json.loads(sys.argv[1])
app = App(
    config["group"],
    config["bootstrap"],
    guarantee=config["guarantee"],
    state_dir=config["state_dir"],
    commit_interval=config["commit_interval"],
    max_batch_records=config["max_batch_records"],
    consumer_config=config["consumer_config"],
    standby_replicas=config.get("standby_replicas", 0),
)


def running_totals(value, state):
    count = state.get("count", 0) + 1
    total = state.get("sum", 0) + value["v"]
    state.set("count", count)
    state.set("sum", total)
    return {"seq": value["seq"], "count": count, "sum": total}


def work(batch):
    time.sleep(config["batch_work"])  # stands for real per-batch work: kills land mid-stream
    return batch


sdf = app.dataframe(app.topic(config["source"], partitions=config["partitions"]))
sdf = sdf.map_batches(work, format="polars")
sdf.apply(running_totals, stateful=True, store=config["store"]).to_topic(app.topic(config["sink"]))
app.run()
"""


# The input and its oracle
@dataclass
class Workload:
    """Keyed input records and, per key, the updates a correct app writes for them."""

    records: int
    keys: int
    seed: int = 1
    # Per key, in input order: (seq, value) of each of its records.
    by_key: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    # Per input partition, the offset after its last record (filled in by produce()).
    ends: dict[int, int] = field(default_factory=dict)
    # The input partition each key went to.
    partition_of: dict[str, int] = field(default_factory=dict)

    def events(self, start: int = 0, stop: int | None = None) -> list[tuple[str, int, int]]:
        """(key, seq, value) of the records ``start`` to ``stop``, the same on every call."""
        rng = random.Random(self.seed)
        out = []
        for seq in range(self.records):
            key, value = f"k{rng.randrange(self.keys):05d}", rng.randrange(1, 1_000)
            if seq >= start and (stop is None or seq < stop):
                out.append((key, seq, value))
        return out

    def produce(self, bootstrap: str, topic: str, start: int = 0, stop: int | None = None) -> None:
        """Produce records ``start`` to ``stop`` in order (idempotent: no reordering)."""
        producer = Producer(
            {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 20}
        )
        ends, partition_of = self.ends, self.partition_of

        def delivered(error: Any, message: Any) -> None:
            assert error is None, error
            p = message.partition()
            ends[p] = max(ends.get(p, 0), message.offset() + 1)
            partition_of[message.key().decode()] = p

        for key, seq, value in self.events(start, stop):
            self.by_key.setdefault(key, []).append((seq, value))
            payload = orjson.dumps({"seq": seq, "v": value})
            while True:
                try:
                    producer.produce(topic, payload, key.encode(), on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.05)
        assert producer.flush(60) == 0

    def expected(self) -> dict[str, list[tuple[int, int, int]]]:
        """Per key: the (seq, count, sum) updates a correct app writes, in order."""
        out: dict[str, list[tuple[int, int, int]]] = {}
        for key, records in self.by_key.items():
            total, updates = 0, []
            for count, (seq, value) in enumerate(records, start=1):
                total += value
                updates.append((seq, count, total))
            out[key] = updates
        return out

    def final_state(self) -> dict[str, dict[str, int]]:
        """Per key: the state a correct app ends with."""
        return {k: {"count": u[-1][1], "sum": u[-1][2]} for k, u in self.expected().items()}


def read_updates(bootstrap: str, topic: str) -> dict[str, list[tuple[int, int, int]]]:
    """The read_committed output, per key in offset order: (seq, count, sum) updates."""
    out: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for m in read_all(bootstrap, [topic], **{"isolation.level": "read_committed"}):
        value = orjson.loads(m.value())
        out[m.key().decode()].append((value["seq"], value["count"], value["sum"]))
    return dict(out)


def exactly_once_problems(
    found: dict[str, list[tuple[int, int, int]]], expected: dict[str, list[tuple[int, int, int]]]
) -> list[str]:
    """What differs from the exact output: each key's updates must be 1..N, each once."""
    problems = []
    for key in sorted(set(found) | set(expected)):
        got, want = found.get(key, []), expected.get(key, [])
        if got == want:
            continue
        counts = [c for _, c, _ in got]
        twice = sorted({c for c in counts if counts.count(c) > 1})
        missing = sorted(set(range(1, len(want) + 1)) - set(counts))
        first = next(
            (i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w),
            min(len(got), len(want)),
        )
        problems.append(
            f"{key}: {len(got)} updates, expected {len(want)}; counts twice {twice[:5]}, "
            f"missing {missing[:5]}; first difference at #{first}: "
            f"{got[first] if first < len(got) else None} != "
            f"{want[first] if first < len(want) else None}"
        )
    return problems


def at_least_once_problems(
    found: dict[str, list[tuple[int, int, int]]], expected: dict[str, list[tuple[int, int, int]]]
) -> list[str]:
    """What breaks at-least-once: an update missing, a wrong one, or a wrong last one."""
    problems = []
    for key in sorted(set(found) | set(expected)):
        got, want = found.get(key, []), expected.get(key, [])
        wrong = sorted(set(got) - set(want))
        missing = sorted(set(want) - set(got))
        if missing or wrong or (want and got[-1:] != want[-1:]):
            problems.append(
                f"{key}: {len(missing)} updates missing (e.g. {missing[:3]}), {len(wrong)} wrong "
                f"(e.g. {wrong[:3]}), last {got[-1:]} != {want[-1:]}"
            )
    return problems


def changelog_state(bootstrap: str, app: str, store: str = STORE) -> dict[str, dict[str, Any]]:
    """Every key's state as its changelog says (read_committed, to the end): what a replica
    that gets the partition rebuilds, and what ``headwater.state.read_key`` reads per key."""
    entries: dict[bytes, bytes | None] = {}
    for m in read_all(
        bootstrap, [f"{app}-{store}-changelog"], **{"isolation.level": "read_committed"}
    ):
        if m.key() != CHECKPOINT_KEY:
            entries[m.key()] = m.value()
    state: dict[str, dict[str, Any]] = defaultdict(dict)
    for entry, data in entries.items():
        if data is not None:
            key, name = split_entry_key(entry)
            state[key.decode()][name] = decode_value(data)[0]
    return dict(state)


def stored_state(
    state_dir: Path, app: str, topic: str, partitions: list[int], store: str = STORE
) -> dict[str, dict[str, Any]]:
    """Every key's state in the RocksDB stores a stopped replica left in ``state_dir``."""
    state: dict[str, dict[str, Any]] = defaultdict(dict)
    for p in partitions:
        path = state_dir / app / store / f"{topic}-{p}"
        assert path.exists(), f"no store for {topic}[{p}] at {path}"
        partition_store = PartitionStore(path, store, topic, p)
        try:
            for entry, data in partition_store.raw_items():
                key, name = split_entry_key(entry)
                state[key.decode()][name] = decode_value(data)[0]
        finally:
            partition_store.close()
    return dict(state)


# The app as a subprocess
class AppProcess:
    """One run of the app script: a subprocess whose stderr goes to its own log file."""

    def __init__(self, script: Path, config: dict[str, Any], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, str(script), json.dumps(config)],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        self.started = time.monotonic()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def count(self, text: str) -> int:
        return self.log_text().count(text)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive:
            raise AssertionError(
                f"the app exited with {self.process.returncode}:\n{self.log_text()[-4000:]}"
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self, timeout: float = 60.0) -> None:
        """SIGTERM: the app finishes its batch, checkpoints and exits 0."""
        if not self.alive:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"the app did not stop within {timeout}s:\n{self.log_text()[-4000:]}"
            ) from None
        assert code == 0, f"the app exited with {code}:\n{self.log_text()[-4000:]}"


@dataclass
class Kill:
    """One SIGKILL, for the test's log and assertions."""

    run: int
    kind: str  # "processing" or "recovery"
    delay: float  # seconds between the trigger and the kill
    progress: int  # input records committed when it was sent
    outputs_flowing: bool  # the output grew just before it (under exactly-once: mid-transaction)
    recovering: bool  # the log showed a store recovering and not yet recovered


class CrashHarness:
    """Runs the app as a subprocess, kills and restarts it, and waits for it to finish."""

    def __init__(
        self,
        bootstrap: str,
        workdir: Path,
        *,
        source: str,
        partitions: int,
        guarantee: str,
        commit_interval: float = 0.5,
        max_batch_records: int = 1_000,
        batch_work: float = 0.0,
        name: str | None = None,
        standby_replicas: int = 0,
        app_script: str = APP_SCRIPT,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """``app_script`` is the app run (by default the running totals above); it reads
        the JSON config in ``sys.argv[1]``: the keys below, plus ``settings``."""
        token = uuid.uuid4().hex[:8]
        self.bootstrap = bootstrap
        self.workdir = workdir
        self.source = source
        self.partitions = partitions
        self.group = name or f"crash-{token}"
        self.sink = f"{self.group}-out"
        self.script = workdir / "app.py"
        self.script.write_text(app_script)
        self.runs = 0
        self._apps: list[AppProcess] = []
        self.kills: list[Kill] = []
        self._config = {
            "bootstrap": bootstrap,
            "group": self.group,
            "source": source,
            "sink": self.sink,
            "partitions": partitions,
            "guarantee": guarantee,
            "commit_interval": commit_interval,
            "max_batch_records": max_batch_records,
            "batch_work": batch_work,
            "consumer_config": FAST_GROUP,
            "store": STORE,
            "standby_replicas": standby_replicas,
            **(settings or {}),
        }
        self._probe = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": self.group,  # only to read its committed offsets; never joins
                "enable.auto.commit": False,
                "client.id": f"crash-probe-{token}",
            }
        )

    def state_dir(self, replica: str = "a") -> Path:
        return self.workdir / f"state-{replica}"

    def start(self, replica: str = "a") -> AppProcess:
        self.runs += 1
        config = {**self._config, "state_dir": str(self.state_dir(replica))}
        path = self.workdir / f"run-{self.runs:02d}-{replica}.log"
        log.info("run %d: starting replica %s (log %s)", self.runs, replica, path.name)
        app = AppProcess(self.script, config, path)
        self._apps.append(app)
        return app

    # Progress
    def committed(self) -> dict[int, int]:
        tps = [TopicPartition(self.source, p) for p in range(self.partitions)]
        return {tp.partition: tp.offset for tp in group_committed(self._probe, tps)}

    def progress(self) -> int:
        """Input records whose processing is committed (all partitions)."""
        return sum(max(o, 0) for o in self.committed().values())

    def output_end(self) -> int:
        """Where the output topic ends (ListOffsets: approximate, only to see it grow)."""
        total = 0
        for p in self._output_partitions():
            _, high = self._probe.get_watermark_offsets(TopicPartition(self.sink, p), timeout=10)
            total += max(high, 0)
        return total

    def _output_partitions(self) -> list[int]:
        topic = self._probe.list_topics(self.sink, timeout=10).topics.get(self.sink)
        return sorted(topic.partitions) if topic is not None and not topic.error else []

    def wait_done(self, ends: dict[int, int], apps: list[AppProcess], timeout: float) -> None:
        """Until the group committed every input partition to its end."""
        want = {p: ends.get(p, 0) for p in range(self.partitions)}

        def done() -> bool:
            for app in apps:
                app.check_alive()
            return self.committed() == want

        try:
            wait_until(done, timeout=timeout, interval=0.25)
        except AssertionError:
            raise AssertionError(
                f"committed {self.committed()} != ends {want} within {timeout}s; last log:\n"
                + apps[-1].log_text()[-3000:]
            ) from None

    def wait_visible(self, count: int, timeout: float = 60.0) -> None:
        """Until read_committed readers see ``count`` output records: a replica killed with a
        transaction open, and never restarted, holds them back until the broker aborts it
        (the app's transaction timeout)."""

        def visible() -> bool:
            return sum(map(len, read_updates(self.bootstrap, self.sink).values())) >= count

        wait_until(visible, timeout=timeout, interval=0.5)

    # Kills
    def kill_while_processing(
        self, app: AppProcess, rng: random.Random, target: int, total: int
    ) -> Kill:
        """SIGKILL ``app`` at a random moment after ``target`` of ``total`` inputs are
        committed, while its outputs are flowing (under exactly-once: inside a transaction)."""

        def reached() -> bool:
            app.check_alive()
            return self.progress() >= target

        wait_until(reached, timeout=120, interval=0.05)
        delay = rng.uniform(0.0, 0.3)
        time.sleep(delay)  # the random moment itself, not a wait for an effect
        before = self.output_end()

        def flowing() -> bool:
            if self.progress() >= total:
                raise AssertionError(
                    f"all {total} inputs were processed before kill {len(self.kills) + 1}: "
                    "give the app more batch_work or more records, so kills land mid-stream"
                )
            return self.output_end() > before

        wait_until(flowing, timeout=30, interval=0.02)
        progress = self.progress()
        app.kill()
        return self._record("processing", delay, progress, True, False)

    def kill_while_recovering(self, app: AppProcess, rng: random.Random) -> Kill:
        """SIGKILL ``app`` at a random moment while its log says a store is recovering."""

        def started() -> bool:
            app.check_alive()
            return "recovering store" in app.log_text()

        wait_until(started, timeout=60, interval=0.005)
        delay = rng.uniform(0.0, 0.01)
        time.sleep(delay)  # the random moment itself
        text = app.log_text()
        recovering = text.count("recovering store") > text.count("recovered store")
        app.kill()
        return self._record("recovery", delay, self.progress(), False, recovering)

    def _record(
        self, kind: str, delay: float, progress: int, flowing: bool, recovering: bool
    ) -> Kill:
        kill = Kill(self.runs, kind, round(delay, 3), progress, flowing, recovering)
        self.kills.append(kill)
        log.info("SIGKILL %d: %s", len(self.kills), kill)
        return kill

    def close(self) -> None:
        """Kill any app still running (a failed test must not leave one behind), then the probe."""
        for app in self._apps:
            if app.alive:
                app.kill()
        self._probe.close()


def run_with_kills(
    harness: CrashHarness,
    workload: Workload,
    *,
    seed: int,
    processing_kills: int,
    recovery_kills: int,
    timeout: float = 150.0,
) -> None:
    """Start the app, SIGKILL it ``processing_kills`` times while it processes and
    ``recovery_kills`` times while it recovers, restarting it after each kill; then let it
    finish and stop it gracefully.

    Before each recovery kill the state directory is deleted, so the restarted app replays its
    whole changelog and the kill lands in the middle of that. Kill moments come from
    ``random.Random(seed)`` and are logged; processing kills are spread over the stream by
    committed progress (5% to 75% of the input), so none lands after the input is done.
    """
    rng = random.Random(seed)
    targets = sorted(
        int(rng.uniform(0.05, 0.75) * workload.records) for _ in range(processing_kills)
    )
    plan = ["processing"] * processing_kills
    for i in range(recovery_kills):  # after the first two processing kills: a changelog exists
        plan.insert(min(len(plan), 2 + 2 * i), "recovery")
    log.info("seed %d: kill plan %s, processing kills at committed %s", seed, plan, targets)
    started = time.monotonic()
    app = harness.start()
    for i, kind in enumerate(plan):
        if kind == "processing":
            harness.kill_while_processing(app, rng, targets.pop(0), workload.records)
        else:
            harness.kill_while_recovering(app, rng)
        if i + 1 < len(plan) and plan[i + 1] == "recovery":
            shutil.rmtree(harness.state_dir(), ignore_errors=True)
            log.info("deleted the state directory: the next run replays the whole changelog")
        app = harness.start()
    left = max(timeout - (time.monotonic() - started), 30.0)
    harness.wait_done(workload.ends, [app], timeout=left)
    app.terminate()
    log.info("done after %d kills in %.1fs", len(harness.kills), time.monotonic() - started)
