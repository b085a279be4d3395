"""Start-up: seconds from launching `headwater run app.py` to its first output record, under
each guarantee, with the app's default consumer settings (group join included).

A record waits in the input; the clock starts when the process is launched and stops when a
`read_committed` reader (already joined, assigned the output's partitions) receives the
output. Exactly-once counts the first transaction's commit too.

    .venv/bin/python benchmarks/startup.py --broker-kind apache --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import add_broker_kind, create_topics  # noqa: E402

APP = """
from headwater import App

app = App({name!r}, {bootstrap!r}, guarantee={guarantee!r}, state_dir={state!r})
app.dataframe(app.topic({source!r})).to_topic(app.topic({sink!r}))
"""


def first_output(bootstrap: str, guarantee: str, workdir: Path) -> float:
    token = uuid.uuid4().hex[:8]
    source, sink = f"start-in-{token}", f"start-out-{token}"
    create_topics(bootstrap, [source, sink], partitions=3)
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(source, b'{"n": 1}', b"k")
    assert producer.flush(30) == 0
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{token}",
            "isolation.level": "read_committed",
        }
    )
    reader.assign([TopicPartition(sink, p, 0) for p in range(3)])
    app = workdir / f"app_{token}.py"
    app.write_text(
        APP.format(
            name=f"start-{token}",
            bootstrap=bootstrap,
            guarantee=guarantee,
            state=str(workdir / "state"),
            source=source,
            sink=sink,
        )
    )
    headwater = Path(sys.executable).with_name("headwater")
    started = time.monotonic()
    process = subprocess.Popen([str(headwater), "run", str(app)], stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - started < 120:
            message = reader.poll(0.01)
            if message is not None and not message.error():
                return time.monotonic() - started
        raise RuntimeError("no output within 120 s")
    finally:
        process.terminate()
        process.wait(60)
        reader.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", help="bootstrap servers; default: start a local broker")
    add_broker_kind(parser)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.broker:
        report(args.broker, args.runs)
        return
    from headwater.kafka.broker import make_broker

    with make_broker(args.broker_kind) as broker:
        # The cluster's first consumer group creates its offsets topic: not the app's cost.
        first_output(broker.bootstrap_servers, "at-least-once", Path(tempfile.mkdtemp()))
        report(broker.bootstrap_servers, args.runs)


def report(bootstrap: str, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="hw-startup-") as tmp:
        for guarantee in ("at-least-once", "exactly-once"):
            times = [first_output(bootstrap, guarantee, Path(tmp)) for _ in range(runs)]
            print(
                f"{guarantee:>14}: first output {statistics.median(times):.2f} s after launch "
                f"(median of {runs}; min {min(times):.2f}, max {max(times):.2f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
