"""Records in and out of every step of an app, counted per micro-batch, served for Prometheus.

Set ``HEADWATER_METRICS_ADDRESS`` to ``HOST:PORT`` (or give ``headwater run --metrics``) and a
live run serves ``/metrics`` there in Prometheus' text format, with one pair of counters per
step of the app's topology::

    headwater_step_records_in_total{step="n1"} 5120.0
    headwater_step_records_out_total{step="n1"} 4870.0
    headwater_step_busy_seconds_total{step="n1"} 3.2
    headwater_step_dead_letters_total{step="n1"} 2.0

A step counts the records that reached it and the records it handed on, once per batch (an
add per step, not per record), the time its operator spent on them (two clock reads per step
and batch) and the records it sent to the dead letters. What the app as a whole reports
(its loop's busy and idle time, checkpoints, watermarks, state, late records) is in
``app_metrics.py``. A batch that is rerun record by record after a vectorised step
failed counts once, as it completes. Port ``0`` picks a free port: the status file (see
``status.py``) names the address bound, and the app's steps with their ids.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from threading import Thread
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from headwater.errors import ConfigError

if TYPE_CHECKING:
    from headwater.runtime.graph import Node

from headwater.environment import METRICS_ADDRESS_ENV as METRICS_ADDRESS_ENV

RECORDS_IN = "headwater_step_records_in"  # Prometheus appends _total to a counter
RECORDS_OUT = "headwater_step_records_out"
BUSY_SECONDS = "headwater_step_busy_seconds"
DEAD_LETTERS = "headwater_step_dead_letters"


# The two functions below are all this module knows of the topology's shape.
def step_id(node: Node) -> str:
    """The id of ``node``'s step in the app's topology: what its counters are labelled with."""
    return node.id


def topology_steps(topology: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step of ``topology`` (``App.describe()``): ``id``, ``kind``, ``label`` and
    ``inputs`` (the ids of the steps whose records it receives).

    The pipeline after a ``group_by`` that repartitions starts at the source of its repartition
    topic: that source's input is the ``group_by`` step writing the topic.
    """
    writers = {
        output["topic"]: output["node"] for output in topology["outputs"] if output.get("internal")
    }
    sources = {
        entry["node"]: writers[entry["topic"]]
        for entry in topology["inputs"]
        if entry.get("internal") and entry["topic"] in writers
    }
    steps = []
    for node in topology["nodes"]:
        parent = node["parent"]
        # A join names both of its inputs; other nodes have one parent, or none.
        inputs = list(node.get("parents") or ([parent] if parent is not None else []))
        if node["id"] in sources:
            inputs.append(sources[node["id"]])
        steps.append(
            {"id": node["id"], "kind": node["kind"], "label": node["label"], "inputs": inputs}
        )
    return steps


class StepCounters:
    """Records in and out per step id; ``add`` is called once per step per completed batch."""

    def __init__(self, steps: Iterable[str] = ()) -> None:
        # Every step is exported from the start, at zero, so a rate exists from the first batch.
        self._counts: dict[str, list[int]] = {step: [0, 0] for step in steps}
        self._busy: dict[str, float] = dict.fromkeys(self._counts, 0.0)
        self._dead: dict[str, int] = dict.fromkeys(self._counts, 0)
        # A registry per app, not the global one: an app may run beside others in a process.
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_CountersCollector(self))

    def add(self, step: str, records_in: int, records_out: int) -> None:
        counts = self._counts.get(step)
        if counts is None:
            counts = self._counts[step] = [0, 0]
        counts[0] += records_in
        counts[1] += records_out

    def busy(self, step: str, seconds: float) -> None:
        """``step``'s operator worked ``seconds`` on a batch (or on closing windows)."""
        self._busy[step] = self._busy.get(step, 0.0) + seconds

    def dead_letters(self, step: str, records: int) -> None:
        self._dead[step] = self._dead.get(step, 0) + records

    def totals(self) -> dict[str, tuple[int, int]]:
        """(records in, records out) per step since the app started."""
        return {step: (c[0], c[1]) for step, c in list(self._counts.items())}

    def busy_seconds(self) -> dict[str, float]:
        return dict(self._busy)

    def dead_letter_totals(self) -> dict[str, int]:
        return dict(self._dead)


class _CountersCollector(Collector):
    def __init__(self, counters: StepCounters) -> None:
        self.counters = counters

    def collect(self) -> Iterator[CounterMetricFamily]:
        records_in = CounterMetricFamily(
            RECORDS_IN, "Records that reached the step", labels=["step"]
        )
        records_out = CounterMetricFamily(
            RECORDS_OUT, "Records the step handed on", labels=["step"]
        )
        busy = CounterMetricFamily(
            BUSY_SECONDS, "Seconds the step's operator spent processing", labels=["step"]
        )
        dead = CounterMetricFamily(
            DEAD_LETTERS, "Records the step sent to the dead letters", labels=["step"]
        )
        for step, (count_in, count_out) in sorted(self.counters.totals().items()):
            records_in.add_metric([step], count_in)
            records_out.add_metric([step], count_out)
        for step, seconds in sorted(self.counters.busy_seconds().items()):
            busy.add_metric([step], seconds)
        for step, count in sorted(self.counters.dead_letter_totals().items()):
            dead.add_metric([step], count)
        yield from (records_in, records_out, busy, dead)


@dataclass
class MetricsServer:
    """``/metrics`` of one app over HTTP, on a daemon thread until :meth:`close`."""

    counters: StepCounters
    address: str  # HOST:PORT as bound (the port chosen when 0 was asked for)
    _server: WSGIServer
    _thread: Thread

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_step_metrics(steps: list[dict[str, Any]]) -> MetricsServer | None:
    """Counters for ``steps`` (see :func:`topology_steps`), served where
    ``HEADWATER_METRICS_ADDRESS`` says; None, and nothing counted, without it."""
    address = os.environ.get(METRICS_ADDRESS_ENV)
    if not address:
        return None
    return serve_metrics(StepCounters(step["id"] for step in steps), address)


def serve_metrics(counters: StepCounters, address: str) -> MetricsServer:
    """Serve ``counters`` on ``address`` (``HOST:PORT``; port 0 picks a free one)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(
            f"{METRICS_ADDRESS_ENV}={address!r} is not HOST:PORT; e.g. 127.0.0.1:9400 "
            "(port 0 picks a free port)"
        )
    host = host.strip("[]")  # an IPv6 address may be written in brackets
    try:
        server, thread = start_http_server(int(port), host, registry=counters.registry)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve metrics on {address}: {exc}; pick another port, or port 0 for a free one"
        ) from exc
    bound_host, bound_port = server.server_address[:2]
    host = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
    shown = f"[{host}]" if ":" in host else host
    return MetricsServer(counters, f"{shown}:{bound_port}", server, thread)
