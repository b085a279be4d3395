"""Window operators: ``group_by(...).window(...).agg(...)``, one class per storage strategy.

The window kind says where the open windows live: tumbling, hopping and session windows in
memory per partition (:class:`~headwater.runtime.operators.window_memory.InMemoryWindows`), sliding
windows as their records in the store
(:class:`~headwater.runtime.operators.window_sliding.SlidingWindows`), count windows in their keys'
entries (:class:`~headwater.runtime.operators.window_count.CountWindows`). What they share is in
:mod:`headwater.runtime.operators.window_base`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.dataframe.windows import WindowKind
from headwater.runtime.operators.window_base import (
    EMIT_MODES,
    LateRecordError,
    LateRecords,
    WindowAggregate,
)
from headwater.runtime.operators.window_count import CountWindows
from headwater.runtime.operators.window_memory import InMemoryWindows
from headwater.runtime.operators.window_sliding import SlidingWindows

if TYPE_CHECKING:
    from headwater.dataframe.aggregations import Aggregation
    from headwater.dataframe.windows import Window

__all__ = [
    "EMIT_MODES",
    "LateRecordError",
    "LateRecords",
    "WindowAggregate",
    "window_aggregate",
]

# The storage strategy of each window kind.
STRATEGIES: dict[WindowKind, type[WindowAggregate]] = {
    WindowKind.TUMBLING: InMemoryWindows,
    WindowKind.HOPPING: InMemoryWindows,
    WindowKind.SESSION: InMemoryWindows,
    WindowKind.SLIDING: SlidingWindows,
    WindowKind.TUMBLING_COUNT: CountWindows,
    WindowKind.HOPPING_COUNT: CountWindows,
}


def window_aggregate(
    group_columns: list[str],
    window: Window,
    aggs: dict[str, Aggregation],
    store: str,
    emit: str,
    lateness_ms: int,
    early_every: float | None = None,
) -> WindowAggregate:
    """The window operator for ``window``'s kind (its storage strategy)."""
    strategy = STRATEGIES[window.kind]
    return strategy(group_columns, window, aggs, store, emit, lateness_ms, early_every)
