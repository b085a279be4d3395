"""The as-of join's batch computation: ``pandas.merge_asof`` over the same records.

Right records of one key at one time: the later produced wins (``merge_asof`` takes the last
of equal times once the right side is sorted by time with a stable sort over the production
order). Columns of a result: the left record's ``id``, ``user``, ``ts`` and the matched right
record's ``id_right`` and ``ts_right`` (missing when none matched).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

Rows = list[dict[str, Any]]
COLUMNS = ["id", "user", "ts", "id_right", "ts_right"]


def asof_join(left: Rows, right: Rows, tolerance: int | None, how: str = "left") -> pd.DataFrame:
    lf = pd.DataFrame(left).sort_values("ts", kind="stable")
    rf = pd.DataFrame(right).sort_values("ts", kind="stable")
    rf = rf.assign(id_right=rf["id"], ts_right=rf["ts"])[["user", "ts", "id_right", "ts_right"]]
    merged = pd.merge_asof(lf, rf, on="ts", by="user", direction="backward", tolerance=tolerance)
    if how == "inner":
        merged = merged[merged["id_right"].notna()]
    return merged[COLUMNS]


def with_ties(right: Rows, every: int, start_id: int) -> Rows:
    """``right`` with a copy of every ``every``-th record (a new ``id``) produced right after
    it: a version of the same key at the same time, which must win over the first."""
    out: Rows = []
    for i, row in enumerate(right):
        out.append(row)
        if i % every == 0:
            out.append({**row, "id": start_id + i})
    return out
