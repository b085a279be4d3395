"""Standby stores: warm copies of the stores of input partitions another member owns.

A standby store is an ordinary :class:`PartitionStore` at the path the owned store would have,
fed by a continuous :class:`RecoveryManager` that tails its changelog partition (read_committed,
records applied only once a checkpoint marker confirms them). When the partition is assigned
here, the standby is closed and the store reopens as an owned one: recovery starts from the
changelog offset the standby reached, so only the tail is replayed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from headwater.kafka.settings import KafkaSettings
from headwater.state.recovery import RecoveryManager
from headwater.state.store import PartitionStore

log = logging.getLogger("headwater.state.standby")

StoreId = tuple[str, str, int]  # store name, input topic, partition
# (store name, input topic, partition) -> (path, changelog topic), from the StateManager.
Locate = Callable[[str, str, int], tuple[Path, str]]

# A standby that is up to date waits for new changelog records: long-poll in the background
# (the runtime never blocks on it), rather than fetching every 50 ms as recovery does.
STANDBY_CONSUMER = {"fetch.wait.max.ms": 500, "queued.min.messages": 10_000}


class StandbyStores:
    """The standby stores of one member, and the replay that keeps them up to date."""

    def __init__(
        self,
        settings: KafkaSettings,
        locate: Locate,
        *,
        consumer_config: dict[str, Any] | None = None,
    ) -> None:
        self._locate = locate
        self.replay = RecoveryManager(
            settings,
            consumer_config={**STANDBY_CONSUMER, **(consumer_config or {})},
            continuous=True,
        )
        self._open: dict[StoreId, PartitionStore] = {}

    @property
    def partitions(self) -> set[tuple[str, int]]:
        """The input partitions this member keeps standby stores for."""
        return {(topic, partition) for _, topic, partition in self._open}

    def store_ids(self) -> list[StoreId]:
        return sorted(self._open)

    def store(self, store_name: str, topic: str, partition: int) -> PartitionStore | None:
        return self._open.get((store_name, topic, partition))

    def update(self, wanted: Iterable[StoreId]) -> None:
        """Keep standbys for exactly ``wanted``: open (and start tailing) new ones, close others."""
        wanted = set(wanted)
        for store_id in sorted(set(self._open) - wanted):
            self.close_store(store_id, reason="no longer needed")
        for store_id in sorted(wanted - set(self._open)):
            path, changelog = self._locate(*store_id)
            store = PartitionStore(path, store_id[0], store_id[1], store_id[2], changelog)
            self._open[store_id] = store
            self.replay.add(store)
            log.info(
                "standby started for store %s at changelog offset %s",
                store.describe(),
                "0 (new store)" if store.changelog_offset is None else store.changelog_offset,
            )

    def close_store(self, store_id: StoreId, *, reason: str) -> int | None:
        """Stop tailing and close one standby; returns the records it applied (None: none open).

        Unconfirmed records it read are not kept: whoever opens the store next reads them again
        from its changelog offset.
        """
        store = self._open.pop(store_id, None)
        if store is None:
            return None
        applied = self.replay.remove(store)
        store.close()
        log.info(
            "standby for store %s closed (%s): %d changelog records applied, up to date at "
            "changelog offset %s",
            store.describe(),
            reason,
            applied,
            store.changelog_offset,
        )
        return applied

    def step(self, max_records: int = 5_000, timeout: float = 0.0) -> None:
        """Apply up to ``max_records`` changelog records to the standbys; never waits longer
        than ``timeout`` seconds."""
        if self._open:
            self.replay.step(max_records, timeout)

    def close(self) -> None:
        self.replay.close()
        for store in self._open.values():
            store.close()
        self._open.clear()
