"""How an app runs, apart from what it does: the settings the loop needs besides the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from headwater.kafka.settings import KafkaSettings

OnError = Literal["dead-letter", "raise"]
Guarantee = Literal["at-least-once", "exactly-once"]


@dataclass(frozen=True)
class RunSettings:
    """An App's run settings, checked by the App (see :class:`headwater.App`)."""

    kafka: KafkaSettings
    on_error: OnError = "dead-letter"
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    commit_interval: float = 5.0
    max_batch_records: int = 10_000
    max_batch_wait: float = 0.1
    consumer_config: dict[str, Any] = field(default_factory=dict)
    producer_config: dict[str, Any] = field(default_factory=dict)
    create_topics: bool = True
    guarantee: Guarantee = "at-least-once"
    state_dir: Path = Path("state")
    standby_replicas: int = 0
