"""An independent pandas computation of windowed aggregations, to check Headwater's against.

Records are dicts with ``customer`` (the group), ``ts`` (event time, ms), ``price`` (float or
None), ``sku`` (text) and ``id``. The generator makes on-time records out of order within a
bound, records far behind the watermark (late by construction), and closer records that push
the watermark past every window.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pandas as pd

from headwater import App, agg, windows

BASE_TS = 1_700_000_000_000
BOUND_MS = 2_000
LATENESS_MS = 500
CLOSER = "zz-closer"
QUANTILE_ACCURACY = 0.01

KINDS = {
    "tumbling": windows.tumbling("3s"),
    "hopping": windows.hopping("4s", step="2s"),
    "sliding": windows.sliding("2s"),
    "session": windows.session("1500ms"),
    "tumbling_count": windows.tumbling_count(4),
    "hopping_count": windows.hopping_count(4, step=2),
}


def aggregations() -> dict[str, Any]:
    return {
        "n": agg.count(),
        "n_price": agg.count("price"),
        "total": agg.sum("price"),
        "avg": agg.mean("price"),
        "lo": agg.min("price"),
        "hi": agg.max("price"),
        "first_sku": agg.first("sku"),
        "last_price": agg.last("price"),
        "sd": agg.std("price"),
        "variance": agg.var("price"),
        "prices": agg.collect("price"),
        "skus": agg.count_distinct("sku"),
        "p90": agg.quantile("price", 0.9, relative_accuracy=QUANTILE_ACCURACY),
        "reduced": agg.reduce("price", lambda a, b: a + b),
        "rows": agg.apply_window(len),
    }


def records(count: int, seed: int, customers: int = 6, late: int = 8) -> dict[str, list[dict]]:
    """``main`` (on time, out of order within BOUND_MS), ``late`` (far behind)."""
    rng = random.Random(seed)
    main: list[dict[str, Any]] = []
    used: set[tuple[str, int]] = set()
    for i in range(count):
        customer = f"c{rng.randrange(customers)}"
        ts = BASE_TS + i * 150 - rng.randrange(0, int(BOUND_MS * 0.9))
        while (customer, ts) in used:  # unique per customer: first/last have no ties
            ts += 1
        used.add((customer, ts))
        price = None if rng.random() < 0.1 else round(rng.uniform(-50, 500), 2)
        main.append(
            {"id": i, "customer": customer, "ts": ts, "price": price, "sku": f"s{rng.randrange(5)}"}
        )
    behind = [
        {
            "id": count + j,
            "customer": f"c{rng.randrange(customers)}",
            "ts": BASE_TS - 600_000 + j,
            "price": 1.0,
            "sku": "late",
        }
        for j in range(late)
    ]
    return {"main": main, "late": behind}


def closers(keys: list[str], start_id: int) -> list[dict[str, Any]]:
    """Records far ahead of everything: the watermark passes every window of the others."""
    return [
        {"id": start_id + i, "customer": k, "ts": BASE_TS + 36_000_000, "price": 0.0, "sku": "z"}
        for i, k in enumerate(keys)
    ]


def _windows(kind: str, frame: pd.DataFrame) -> list[tuple[int, int, pd.DataFrame]]:
    """A customer's windows: (start, end, its records in event-time order)."""
    spec = KINDS[kind]
    out: list[tuple[int, int, pd.DataFrame]] = []
    if kind in ("tumbling_count", "hopping_count"):
        step = spec.step or spec.size
        for start in range(0, len(frame) - spec.size + 1, step):
            chunk = frame.iloc[start : start + spec.size]
            out.append((start, start + spec.size, chunk.sort_values("ts", kind="stable")))
        return out
    frame = frame.sort_values("ts", kind="stable")
    ts = frame["ts"]
    if kind == "sliding":
        for end in sorted(set(ts)):
            out.append((end - spec.size, end, frame[(ts >= end - spec.size) & (ts <= end)]))
        return out
    if kind == "session":
        new = ts.diff().fillna(spec.gap + 1) > spec.gap  # at most the gap apart: one session
        for _, part in frame.groupby(new.cumsum()):
            out.append((int(part["ts"].min()), int(part["ts"].max()) + spec.gap, part))
        return out
    step = spec.step or spec.size
    starts: set[int] = set()
    for t in ts:
        s = (t // step) * step
        while s + spec.size > t:
            starts.add(s)
            s -= step
    for start in sorted(starts):
        out.append((start, start + spec.size, frame[(ts >= start) & (ts < start + spec.size)]))
    return out


def expected(kind: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Per customer and window, every aggregation of :func:`aggregations`, in pandas."""
    frame = pd.DataFrame(rows)
    results = []
    for customer, part in frame.groupby("customer", sort=True):
        for start, end, w in _windows(kind, part.reset_index(drop=True)):
            price = w["price"].dropna()
            results.append(
                {
                    "customer": customer,
                    "window_start": start,
                    "window_end": end,
                    "n": len(w),
                    "n_price": len(price),
                    "total": float(price.sum()),
                    "avg": price.mean() if len(price) else None,
                    "lo": price.min() if len(price) else None,
                    "hi": price.max() if len(price) else None,
                    "first_sku": w["sku"].dropna().iloc[0] if w["sku"].notna().any() else None,
                    "last_price": price.iloc[-1] if len(price) else None,
                    "sd": price.std() if len(price) > 1 else None,
                    "variance": price.var() if len(price) > 1 else None,
                    "prices": list(price),
                    "skus": int(w["sku"].nunique()),
                    "p90": float(np.quantile(price, 0.9, method="lower")) if len(price) else None,
                    "reduced": float(price.sum()) if len(price) else None,
                    "rows": len(w),
                }
            )
    return pd.DataFrame(results)


def _close(a: Any, b: Any, rel: float = 1e-9) -> bool:
    missing_a = a is None or (isinstance(a, float) and math.isnan(a))
    missing_b = b is None or (isinstance(b, float) and math.isnan(b))
    if missing_a or missing_b:
        return missing_a and missing_b
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)
    return bool(a == b)


def assert_matches(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same windows, same values (floats within 1e-9 relative, the quantile within the
    sketch's relative accuracy of the exact lower quantile)."""
    columns = list(want.columns)
    got_rows = sorted((tuple(r) for r in got[columns].itertuples(index=False)), key=lambda r: r[:3])
    want_rows = sorted(
        (tuple(r) for r in want[columns].itertuples(index=False)), key=lambda r: r[:3]
    )
    assert [r[:3] for r in got_rows] == [r[:3] for r in want_rows], "different windows"
    for g, w in zip(got_rows, want_rows, strict=True):
        for name, a, b in zip(columns, g, w, strict=True):
            if name == "p90" and a is not None and b is not None and not _missing(b):
                assert abs(a - b) <= QUANTILE_ACCURACY * abs(b) + 1e-9, (name, g[:3], a, b)
            elif name == "prices":
                assert len(list(a)) == len(b), (name, g[:3])
                assert all(_close(x, y) for x, y in zip(a, b, strict=True)), (name, g[:3])
            else:
                assert _close(a, b), (name, g[:3], a, b)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def windowed_app(
    name: str, source: str = "orders", **kwargs: Any
) -> tuple[App, dict[str, str], dict[str, str]]:
    """One group_by, a window of every kind with every aggregation; the late records of each
    time window to a topic of their own."""
    app = App(name, **kwargs)
    orders = app.dataframe(app.topic(source, timestamp="ts", partitions=3))
    orders = orders.with_watermarks(f"{BOUND_MS}ms")
    grouped = orders.group_by("customer")
    outputs, late = {}, {}
    for kind, window in KINDS.items():
        windowed = grouped.window(window, allowed_lateness=f"{LATENESS_MS}ms")
        outputs[kind] = f"{name}-{kind}"
        windowed.agg(**aggregations()).to_topic(app.topic(outputs[kind]))
        if not window.by_count:
            late[kind] = f"{name}-{kind}-late"
            windowed.late().to_topic(app.topic(late[kind]))
    return app, outputs, late


def by_time(kind: str, data: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The records a window kind aggregates: time windows take the on-time ones, count
    windows every record in order."""
    if kind.endswith("_count"):
        return data["main"] + data["late"]
    return data["main"]
