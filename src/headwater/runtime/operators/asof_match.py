"""The as-of match, vectorised: each left row meets its key's latest right version at or before
its time, and the versions a watermark leaves behind.

Both work on frames with a key column, a time column and a sequence column (the right side's
arrival order: of two versions of one key at one time, the later wins, as a table update
does). Kept apart from the operator so the rule reads in one place and is tested against
``pandas.merge_asof`` directly.
"""

from __future__ import annotations

import polars as pl


def latest_per_time(versions: pl.DataFrame, key: str, ts: str, seq: str) -> pl.DataFrame:
    """One version per key and time: the last to arrive (by ``seq``)."""
    if versions.height == 0:
        return versions
    return versions.sort([key, ts, seq]).unique([key, ts], keep="last", maintain_order=True)


def match_asof(
    left: pl.DataFrame,
    right: pl.DataFrame,
    key: str,
    ts: str,
    tolerance: int | None,
) -> pl.DataFrame:
    """Every ``left`` row with the columns of its key's latest ``right`` row whose time is at
    or before its own (no more than ``tolerance`` before, when given), nulls where none is:
    ``pandas.merge_asof(left, right, on=ts, by=key, direction="backward")``. ``right`` holds
    one row per key and time (see :func:`latest_per_time`); its time column is not kept."""
    left = left.sort(ts, maintain_order=True)
    if right.height == 0:
        extra = [c for c in right.columns if c not in (key, ts)]
        return left.with_columns([pl.lit(None).alias(c) for c in extra])
    right = right.with_columns(pl.col(key).cast(left.schema[key], strict=False)).sort(ts)
    return left.join_asof(
        right,
        on=ts,
        by=key,
        strategy="backward",
        tolerance=tolerance,
        check_sortedness=False,  # sorted on time above; the groups by key need not be
    ).drop(f"{ts}_right", strict=False)


def behind_watermark(
    versions: pl.DataFrame, key: str, ts: str, watermark: int
) -> tuple[pl.DataFrame, pl.Series]:
    """The versions still needed once no left row before ``watermark`` can come: those at or
    after it, and each key's latest before it. Returns them and the keys that lost a version."""
    if versions.height == 0:
        return versions, pl.Series(key, [])
    old = pl.col(ts) < watermark
    latest_old = pl.col(ts) == pl.col(ts).filter(old).max().over(key)
    kept = versions.filter(~old | latest_old)
    if kept.height == versions.height:
        return versions, pl.Series(key, [], dtype=versions.schema[key])
    dropped = versions.filter(old & ~latest_old)[key].unique(maintain_order=True)
    return kept, dropped
