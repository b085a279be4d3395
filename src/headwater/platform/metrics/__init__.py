"""Metrics: the last hour per topic and per deployment in memory, and Prometheus exposition;
the records in and out per second of each deployment's steps, and what else its replicas
report (busy ratio, checkpoints, watermarks, state; see ``inside.py``).

Other parts of the platform report a deployment's figures with
``context.metrics.record(deployment_id, name, value)``.
"""

from headwater.platform.metrics.inside import AppInside, CheckpointPoint, StepInside
from headwater.platform.metrics.models import ModelScores, ScorePoint
from headwater.platform.metrics.prometheus import PlatformMetrics, RequestMetrics
from headwater.platform.metrics.sampler import SAMPLE_SECONDS, TopicSampler
from headwater.platform.metrics.steps import STEP_WINDOW_SECONDS, StepRates, StepSampler
from headwater.platform.metrics.store import KEEP_SECONDS, MetricsStore, Point

__all__ = [
    "KEEP_SECONDS",
    "SAMPLE_SECONDS",
    "STEP_WINDOW_SECONDS",
    "AppInside",
    "CheckpointPoint",
    "MetricsStore",
    "ModelScores",
    "PlatformMetrics",
    "Point",
    "RequestMetrics",
    "ScorePoint",
    "StepInside",
    "StepRates",
    "StepSampler",
    "TopicSampler",
]
