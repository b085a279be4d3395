"""Apache Kafka as a single-node broker (KRaft, broker and controller in one JVM), run from the
jars Maven Central publishes: no binary tarball, no Docker.

It is the reference broker: it aborts a fenced producer's open transaction and hides aborted
records from ``read_committed`` readers, so exactly-once can be proven on it. It needs Java 17
or newer; the jars are fetched once with Maven (``pom.xml`` beside this file) into a cache
folder shared by every checkout, then reused.

>>> with ApacheKafkaBroker() as broker:  # doctest: +SKIP
...     print(broker.bootstrap_servers)
127.0.0.1:40125
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from headwater.errors import BrokerError
from headwater.kafka.broker_process import BrokerKind, BrokerProcess, free_port

KAFKA_VERSION = "4.4.0"
LIBS_ENV = "HEADWATER_KAFKA_LIBS"
JAVA_OPTS_ENV = "HEADWATER_KAFKA_JAVA_OPTS"
_HERE = Path(__file__).parent
# The garbage collector settings of Apache Kafka's own start script (kafka-run-class.sh): G1 with
# a 20 ms pause goal. The JVM's defaults aim at 200 ms pauses, and every pause stalls every
# partition's produce and fetch at once.
_GC_OPTIONS = (
    "-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 "
    "-XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"
)
_COMPLETE = ".complete"

# One node holds every replica; few partitions for the internal topics make start-up and the
# first group join and transaction quick.
_SINGLE_NODE = {
    "num.partitions": "1",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "4",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "4",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "share.coordinator.state.topic.num.partitions": "1",
    "group.initial.rebalance.delay.ms": "0",
    # Transactions that outlive their timeout are aborted within a second, not ten.
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000",
    # A development broker keeps records until their topic is deleted: a replay of last year's
    # data is not swept away by the five-minute retention check (a production cluster's
    # retention is its own).
    "log.retention.ms": "-1",
}


def libs_dir() -> Path:
    """Where the broker's jars are kept: ``$HEADWATER_KAFKA_LIBS``, else the user's cache."""
    configured = os.environ.get(LIBS_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "headwater" / f"apache-kafka-{KAFKA_VERSION}" / "libs").resolve()


def libs_installed(folder: Path | None = None) -> bool:
    return ((folder or libs_dir()) / _COMPLETE).exists()


def install_libs(folder: Path | None = None) -> Path:
    """Fetch the broker's jars with Maven unless they are there; return their folder.

    Concurrent installs are safe: each copies into a folder of its own, and the first rename
    wins.
    """
    target = folder or libs_dir()
    if libs_installed(target):
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            f"Apache Kafka's jars are not in {target} and Maven is missing: install Maven "
            "(apt-get install maven) and Java 17+, or set HEADWATER_KAFKA_LIBS to a folder of them"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".libs-", dir=target.parent))
    try:
        result = subprocess.run(
            [
                mvn,
                "--batch-mode",
                "--quiet",
                "--file",
                str(_HERE / "pom.xml"),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(
                "Maven could not fetch Apache Kafka's jars: "
                + (result.stdout + result.stderr).strip()[-2000:]
            )
        (staging / _COMPLETE).write_text(KAFKA_VERSION)
        try:
            staging.rename(target)
        except OSError:  # another install finished first
            if not libs_installed(target):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def java_binary() -> str:
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home) / "bin" / "java" if home else None
    if candidate is not None and candidate.exists():
        return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise BrokerError(
            "Apache Kafka needs Java 17 or newer: install it "
            "(apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    return found


class ApacheKafkaBroker(BrokerProcess):
    """A single-node Apache Kafka (KRaft) on 127.0.0.1.

    With ``data_dir`` the topics survive a restart; without, they live in a temporary folder
    removed when the broker stops.
    """

    kind: BrokerKind = "apache"

    def __init__(
        self,
        port: int | None = None,
        *,
        log_path: Path | None = None,
        data_dir: Path | None = None,
        heap: str = "1g",
    ) -> None:
        super().__init__(port, log_path)
        self.controller_port = free_port()
        self.heap = heap
        self._data_dir = data_dir.resolve() if data_dir is not None else None
        self._temporary: Path | None = None

    @property
    def data_dir(self) -> Path:
        if self._data_dir is not None:
            return self._data_dir
        if self._temporary is None:
            self._temporary = Path(tempfile.mkdtemp(prefix="headwater-kafka-"))
        return self._temporary

    def properties(self) -> dict[str, str]:
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            # Static voters: the quorum is read from here at every start, so ports may change.
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},"
            f"CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir / "logs"),
            **_SINGLE_NODE,
        }

    def _java(self, main: str, *args: str) -> list[str]:
        default = f"-Xms256m -Xmx{self.heap} {_GC_OPTIONS}"
        options = os.environ.get(JAVA_OPTS_ENV, default).split()
        return [
            java_binary(),
            *options,
            f"-Dlog4j2.configurationFile={_HERE / 'log4j2.yaml'}",
            "-cp",
            str(install_libs() / "*"),
            main,
            *args,
        ]

    def prepare(self) -> None:
        config = self.data_dir / "server.properties"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config.write_text("".join(f"{k}={v}\n" for k, v in self.properties().items()))
        if (self.data_dir / "logs" / "meta.properties").exists():
            return
        # A cluster id is a UUID in URL-safe base64, as `StorageTool random-uuid` prints it.
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            # One argument each: an id may start with "-".
            self._java(
                "kafka.tools.StorageTool", "format", f"--cluster-id={cluster}", f"--config={config}"
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(
                "formatting Apache Kafka's storage failed: "
                + (result.stdout + result.stderr).strip()[-2000:]
            )

    def command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.data_dir / "server.properties"))

    def cleanup(self) -> None:
        temporary, self._temporary = self._temporary, None
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
