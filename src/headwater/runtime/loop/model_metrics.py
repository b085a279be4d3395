"""Model monitoring on ``/metrics``: every model step's records, batches, scoring time and
score histogram per model version, served beside the step counters (see ``step_metrics.py``)::

    headwater_model_records_total{step="n2",model="models:/fraud@production",version="2"} 5120.0
    headwater_model_batches_total{...} 12.0
    headwater_model_batch_seconds_total{...} 0.034
    headwater_model_scores_total{...,bin="7"} 830.0

``bin`` ``i`` counts the scores in [i/10, (i+1)/10) (see :mod:`headwater.models.monitoring`);
a model from a file has ``version=""``. The step counts as it scores, at no cost per record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from headwater.runtime.graph import Node
from headwater.runtime.loop.step_metrics import StepCounters, step_id
from headwater.runtime.operators.steps import Predict

MODEL_RECORDS = "headwater_model_records"  # Prometheus appends _total to a counter
MODEL_BATCHES = "headwater_model_batches"
MODEL_SECONDS = "headwater_model_batch_seconds"
MODEL_SCORES = "headwater_model_scores"
_LABELS = ["step", "model", "version"]


def watch_models(counters: StepCounters, roots: Iterable[Node]) -> None:
    """Serve the monitoring counters of every model step under ``roots`` with ``counters``."""
    steps: dict[str, Predict] = {}
    for root in roots:
        for node in root.walk():
            if isinstance(node.operator, Predict):
                steps[step_id(node)] = node.operator
    if steps:
        counters.registry.register(_ModelCollector(steps))


class _ModelCollector(Collector):
    def __init__(self, steps: dict[str, Predict]) -> None:
        self.steps = steps

    def collect(self) -> Iterator[CounterMetricFamily]:
        records = CounterMetricFamily(MODEL_RECORDS, "Records the model scored", labels=_LABELS)
        batches = CounterMetricFamily(MODEL_BATCHES, "Batches the model scored", labels=_LABELS)
        seconds = CounterMetricFamily(
            MODEL_SECONDS, "Seconds spent scoring batches", labels=_LABELS
        )
        scores = CounterMetricFamily(
            MODEL_SCORES, "Scores per tenth of [0, 1]", labels=[*_LABELS, "bin"]
        )
        for step, operator in sorted(self.steps.items()):
            for version, counts in operator.monitor.totals().items():
                labels = [step, operator.path, "" if version is None else str(version)]
                records.add_metric(labels, counts.records)
                batches.add_metric(labels, counts.batches)
                seconds.add_metric(labels, counts.seconds)
                if any(counts.bins):
                    for i, n in enumerate(counts.bins):
                        scores.add_metric([*labels, str(i)], n)
        yield from (records, batches, seconds, scores)
