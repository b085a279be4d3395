"""An independent pandas computation of stream-stream joins, to check Headwater's against.

Two keyed streams, ``left`` and ``right``: dicts with ``user`` (the join key), ``ts`` (event
time, ms) and ``id`` (unique across both). The generator makes on-time records out of order
within a bound, records far behind every watermark (late by construction), and closers: one
record per partition of each input far ahead of everything, so the watermark passes every
interval and window of the others.
"""

from __future__ import annotations

import random
from typing import Any

import pandas as pd

BASE_TS = 1_700_000_000_000
BOUND_MS = 2_000
LOWER_MS, UPPER_MS = -1_500, 1_000
CLOSER = "zz-closer"
Rows = list[dict[str, Any]]


def streams(count: int, seed: int, users: int = 6, late: int = 5) -> dict[str, Rows]:
    """``left`` and ``right`` (on time, out of order within BOUND_MS), ``late_left`` and
    ``late_right`` (far behind)."""
    rng = random.Random(seed)
    out: dict[str, Rows] = {}
    next_id = 0
    for side in ("left", "right"):
        rows: Rows = []
        for i in range(count):
            ts = BASE_TS + i * 120 - rng.randrange(0, int(BOUND_MS * 0.9))
            rows.append({"id": next_id, "user": f"u{rng.randrange(users)}", "ts": ts})
            next_id += 1
        out[side] = rows
    for side in ("left", "right"):
        out[f"late_{side}"] = [
            {"id": next_id + j, "user": f"u{j % users}", "ts": BASE_TS - 600_000 + j}
            for j in range(late)
        ]
        next_id += late
    return out


def closers(partitions: int, start_id: int) -> list[tuple[int, dict[str, Any]]]:
    """Per partition, a record far ahead of everything: (partition, record)."""
    return [
        (p, {"id": start_id + p, "user": f"{CLOSER}-{p}", "ts": BASE_TS + 36_000_000})
        for p in range(partitions)
    ]


def interval_join(left: Rows, right: Rows, how: str) -> pd.DataFrame:
    """``pandas.merge`` on the key, kept where ``LOWER_MS <= ts_right - ts <= UPPER_MS``; a
    left join adds the left rows that met none. Columns: id, user, ts, id_right, ts_right."""
    lf, rf = pd.DataFrame(left), pd.DataFrame(right)
    merged = lf.merge(rf, on="user", suffixes=("", "_right"))
    delta = merged["ts_right"] - merged["ts"]
    merged = merged[(delta >= LOWER_MS) & (delta <= UPPER_MS)]
    if how == "left":
        alone = lf[~lf["id"].isin(merged["id"])]
        merged = pd.concat([merged, alone], ignore_index=True)
    return merged[["id", "user", "ts", "id_right", "ts_right"]]


def window_join(
    left: Rows, right: Rows, size: int, step: int | None = None, how: str = "inner"
) -> pd.DataFrame:
    """Per window of ``size`` ms (every ``step`` ms, tumbling without), every pair of a left
    and a right record of one key in it: a group-by-window ``merge`` (a left one keeps the
    left records of a window that met none). Columns: id, user, ts, id_right, ts_right,
    window_start, window_end."""
    step = step or size

    def windowed(rows: Rows) -> pd.DataFrame:
        out = []
        for row in rows:
            start = (row["ts"] // step) * step
            while start + size > row["ts"]:
                out.append({**row, "window_start": start, "window_end": start + size})
                start -= step
        return pd.DataFrame(out)

    merged = windowed(left).merge(
        windowed(right),
        on=["user", "window_start", "window_end"],
        how="left" if how == "left" else "inner",
        suffixes=("", "_right"),
    )
    return merged[["id", "user", "ts", "id_right", "ts_right", "window_start", "window_end"]]


def session_join(left: Rows, right: Rows, gap: int, how: str = "inner") -> pd.DataFrame:
    """A key's sessions cut from both inputs' records together (at most ``gap`` apart: one
    session), then every pair of a left and a right record of one session: a group-by-session
    ``merge``. Columns as :func:`window_join`'s (the session's first time, last time + gap)."""
    rows = pd.concat(
        [pd.DataFrame(left).assign(side=0), pd.DataFrame(right).assign(side=1)], ignore_index=True
    ).sort_values(["user", "ts"], kind="stable")
    new = rows.groupby("user")["ts"].diff().fillna(gap + 1) > gap
    rows["session"] = new.cumsum()
    rows["window_start"] = rows.groupby("session")["ts"].transform("min")
    rows["window_end"] = rows.groupby("session")["ts"].transform("max") + gap
    lf, rf = rows[rows["side"] == 0], rows[rows["side"] == 1]
    merged = lf.merge(
        rf[["session", "id", "ts"]],
        on="session",
        how="left" if how == "left" else "inner",
        suffixes=("", "_right"),
    )
    return merged[["id", "user", "ts", "id_right", "ts_right", "window_start", "window_end"]]


def canonical(frame: pd.DataFrame, columns: list[str]) -> list[tuple[Any, ...]]:
    """The rows as sorted tuples, missing values as None (the same whatever the order)."""
    rows = []
    for row in frame[columns].itertuples(index=False):
        rows.append(
            tuple(None if pd.isna(v) else int(v) if isinstance(v, float) else v for v in row)
        )
    return sorted(rows, key=repr)
