"""Failover benchmark: how long a stateful partition is down when its owner dies, with and
without a standby replica.

One input partition whose store holds ``--keys`` keys (a running count and sum per key, every
update written to an output topic). Replica A owns it and has processed every record; replica B
is in the group with nothing assigned. A is SIGKILLed and one new record produced at once; the
figure is the wall-clock time from the kill until B's output for that record arrives. It
includes the group noticing A is gone (``session.timeout.ms=6000``, the same in both runs);
the difference between the runs is the store's recovery on B, also reported from B's log:
without a standby B replays the whole changelog, with ``standby_replicas=1`` only the tail its
standby had not applied.

    python benchmarks/failover.py                # 100k keys, without and with a standby
    python benchmarks/failover.py --keys 20000   # a quick run
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    CONSUMER,
    PRODUCER,
    add_broker_kind,
    create_topics,
    produce_input,
    running_totals,
)

from headwater.kafka.broker import make_broker  # noqa: E402

LOG_FORMAT = "%(asctime)s.%(msecs)03d %(name)s %(levelname)s %(message)s"
PROBE_KEY = b"failover-probe"


def replica_main(config: dict[str, Any]) -> None:
    """One replica: the running totals app, logging to stderr."""
    import logging

    from headwater import App

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=LOG_FORMAT, datefmt="%X")
    app = App(
        config["group"],
        config["bootstrap"],
        state_dir=config["state_dir"],
        consumer_config=dict(CONSUMER),
        producer_config=dict(PRODUCER),
        standby_replicas=config["standby_replicas"],
    )

    sdf = app.dataframe(app.topic(config["source"]))
    sdf.apply(running_totals, stateful=True, store="totals").to_topic(app.topic(config["sink"]))
    app.run()


class Replica:
    def __init__(self, config: dict[str, Any], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--replica", json.dumps(config)],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"replica exited {self.process.returncode}:\n{self.text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)


def wait_for(condition: Any, what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _log_time(line: str) -> float:
    """Seconds since midnight of a log line's timestamp (HH:MM:SS.mmm)."""
    stamp = datetime.strptime(line[:12], "%H:%M:%S.%f")
    return stamp.hour * 3600 + stamp.minute * 60 + stamp.second + stamp.microsecond / 1e6


def failover(bootstrap: str, keys: int, standby: int, workdir: Path) -> dict[str, Any]:
    token = uuid.uuid4().hex[:8]
    source, sink, group = f"failover-in-{token}", f"failover-out-{token}", f"failover-{token}"
    create_topics(bootstrap, [source, sink], partitions=1)
    events = [
        (f"key-{i:07d}".encode(), orjson.dumps({"key": f"key-{i:07d}", "amount": 1}))
        for i in range(keys)
    ]
    produce_input(bootstrap, source, events)
    config: dict[str, Any] = {"bootstrap": bootstrap, "group": group, "source": source}
    config.update(sink=sink, standby_replicas=standby)

    def start(name: str) -> Replica:
        cfg = {**config, "state_dir": str(workdir / f"state-{token}-{name}")}
        return Replica(cfg, workdir / f"{token}-{name}.log")

    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    a = start("a")
    try:

        def a_done() -> bool:
            a.check()
            try:
                (tp,) = probe.committed([TopicPartition(source, 0)], timeout=10)
            except KafkaException:  # the group's coordinator is not known yet: ask again
                return False
            return tp.offset == keys

        wait_for(a_done, "replica A to process its input", timeout=600)
        b = start("b")
        try:

            def b_ready() -> bool:
                b.check()
                text = b.text()
                joined = "assigned nothing" in text or "assigned " in text
                warm = not standby or re.search(r"is up to date at changelog offset [1-9]", text)
                return bool(joined and warm)

            wait_for(b_ready, "replica B to join the group (and its standby to catch up)")
            output = _tail_reader(bootstrap, sink)
            a.stop(signal.SIGKILL)
            killed = time.time()
            producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER})
            producer.produce(source, orjson.dumps({"key": "probe", "amount": 1}), PROBE_KEY)
            producer.flush(10)

            def probe_out() -> float | None:
                b.check()
                for m in output.consume(1000, 0.05):
                    if m.error() is None and m.key() == PROBE_KEY:
                        return time.time()
                return None

            arrived = wait_for(probe_out, "the probe record's output", timeout=180)
            output.close()
            text = b.text()
        finally:
            b.stop()
    finally:
        a.stop(signal.SIGKILL)
        probe.close()
    lines = text.splitlines()
    assigned = next(ln for ln in lines if re.search(rf"assigned .*{re.escape(source)}\[0\]", ln))
    resumed = next(ln for ln in lines if f"resumed {source}[0]" in ln)
    replayed = re.search(r"recovered store 'totals' for \S+: (\d+) changelog records", text)
    return {
        "standby_replicas": standby,
        "keys": keys,
        "kill_to_first_output_s": arrived - killed,
        "recovery_s": _log_time(resumed) - _log_time(assigned),
        "changelog_records_replayed": int(replayed[1]) if replayed else -1,
    }


def _tail_reader(bootstrap: str, topic: str) -> Consumer:
    """A consumer already at the end of ``topic``, so the probe's output shows at once."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"failover-reader-{uuid.uuid4().hex[:8]}",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])

    def at_end() -> bool:
        messages = consumer.consume(10_000, 0.1)
        errors = [m.error() for m in messages]
        return any(e is not None and e.code() == KafkaError._PARTITION_EOF for e in errors)

    wait_for(at_end, f"the end of {topic}")
    return consumer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--broker", help="bootstrap servers; default: start a local broker")
    add_broker_kind(parser)
    parser.add_argument("--replica", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replica:
        replica_main(json.loads(args.replica))
        return
    with tempfile.TemporaryDirectory(prefix="hw-failover-") as tmp:
        if args.broker:
            results = [failover(args.broker, args.keys, s, Path(tmp)) for s in (0, 1)]
        else:
            with make_broker(args.broker_kind) as broker:
                bootstrap = broker.bootstrap_servers
                results = [failover(bootstrap, args.keys, s, Path(tmp)) for s in (0, 1)]
    print(f"{'standby_replicas':>16} {'kill->output s':>15} {'recovery s':>11} {'replayed':>9}")
    for r in results:
        print(
            f"{r['standby_replicas']:>16} {r['kill_to_first_output_s']:>15.2f} "
            f"{r['recovery_s']:>11.3f} {r['changelog_records_replayed']:>9,}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
