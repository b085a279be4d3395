"""One scrape of a replica's ``/metrics``: its steps' counters and gauges, its loop and its
checkpoints (the names a running app serves, see ``headwater.runtime.loop.app_metrics``)."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from headwater.platform.metrics.models import Totals as ModelTotals
from headwater.platform.metrics.models import VersionKey, add_model_sample

SCRAPE_TIMEOUT = 2.0
MAX_SCRAPE_BYTES = 1_000_000

# Per step: sample name -> the field of StepFigures it fills.
STEP_SAMPLES = {
    "headwater_step_records_in_total": "records_in",
    "headwater_step_records_out_total": "records_out",
    "headwater_step_busy_seconds_total": "busy_seconds",
    "headwater_step_dead_letters_total": "dead_letters",
    "headwater_step_late_records_total": "late_records",
    "headwater_step_watermark_milliseconds": "watermark",
    "headwater_step_state_entries": "state_entries",
}
# Per app: sample name -> the field of ReplicaMetrics it fills.
APP_SAMPLES = {
    "headwater_loop_busy_seconds_total": "busy_seconds",
    "headwater_loop_idle_seconds_total": "idle_seconds",
    "headwater_checkpoints_total": "checkpoints",
    "headwater_checkpoint_seconds_total": "checkpoint_seconds",
    "headwater_checkpoint_offsets_total": "checkpoint_offsets",
    "headwater_checkpoint_changelog_records_total": "checkpoint_changelog_records",
    "headwater_checkpoint_failures_total": "checkpoint_failures",
}


@dataclass
class StepFigures:
    records_in: float = 0.0
    records_out: float = 0.0
    busy_seconds: float = 0.0
    dead_letters: float = 0.0
    late_records: float | None = None  # None: the step has no notion of late records
    watermark: float | None = None  # epoch ms; None: no event time (yet)
    state_entries: float | None = None  # None: the step keeps no state


@dataclass
class ReplicaMetrics:
    steps: dict[str, StepFigures] = field(default_factory=dict)
    busy_seconds: float = 0.0
    idle_seconds: float = 0.0
    checkpoints: float = 0.0
    checkpoint_seconds: float = 0.0
    checkpoint_offsets: float = 0.0
    checkpoint_changelog_records: float = 0.0
    checkpoint_failures: float = 0.0
    # What each model step scored, per model version (see models.py).
    models: dict[VersionKey, ModelTotals] = field(default_factory=dict)

    def totals(self) -> dict[str, tuple[float, float]]:
        """Records in and out per step."""
        return {step: (f.records_in, f.records_out) for step, f in self.steps.items()}


def parse_replica(text: str) -> ReplicaMetrics:
    """The figures in ``text`` (Prometheus' text format); ValueError if it is not that."""
    found = ReplicaMetrics()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            value = float(sample.value)
            step_field = STEP_SAMPLES.get(sample.name)
            if step_field is not None and "step" in sample.labels:
                figures = found.steps.setdefault(sample.labels["step"], StepFigures())
                setattr(figures, step_field, value)
                continue
            app_field = APP_SAMPLES.get(sample.name)
            if app_field is not None:
                setattr(found, app_field, value)
                continue
            add_model_sample(found.models, sample.name, sample.labels, value)
    return found


def scrape_replica(address: str, timeout: float = SCRAPE_TIMEOUT) -> ReplicaMetrics | None:
    """What the replica serving at ``address`` reports, or None if it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=timeout) as response:
            text = response.read(MAX_SCRAPE_BYTES).decode("utf-8", "replace")
    except (OSError, urllib.error.URLError, ValueError):
        return None
    try:
        return parse_replica(text)
    except ValueError:  # not Prometheus text: not one of our replicas
        return None
