"""Joins of two streams: ``left.join_interval(right, ...)`` and ``left.join_window(right, ...)``.

A join reads partition ``i`` of both inputs in one place, so both must be keyed by the join key
and have as many partitions. With ``on=`` both inputs are re-keyed by those columns (and, with
``repartition=True``, the default, written to a repartition topic each, as ``group_by`` does);
without it they are joined on their record keys as they are.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from headwater.dataframe.grouped import _NAME, Frame, group_by
from headwater.errors import ConfigError
from headwater.plan.durations import duration_ms

# A StreamingDataFrame (named by its protocol, so this module and the DataFrame's do not import
# each other).
F = TypeVar("F", bound=Frame)

JOIN_HOW = ("inner", "left")


def signed_ms(value: Any, field: str) -> int:
    """A duration that may be negative: ``"-5s"``, ``"5s"``, a timedelta."""
    if isinstance(value, timedelta) and value < timedelta(0):
        return -duration_ms(-value, field)
    if isinstance(value, str) and value.strip().startswith("-"):
        return -duration_ms(value.strip()[1:], field)
    return duration_ms(value, field)


def check_copartitioned(method: str, left: F, right: F) -> None:
    """Both inputs must have as many partitions: a join meets partition i of both in one
    place (repartition topics take their input's count)."""
    a, b = left._origin, right._origin
    if a.partitions != b.partitions:
        raise ConfigError(
            f"{method}: topic {a.name!r} has {a.partitions} partitions and topic {b.name!r} "
            f"has {b.partitions}; a join reads partition i of both inputs together, so "
            f"create and declare both with the same count, e.g. app.topic({b.name!r}, "
            f"partitions={a.partitions})"
        )


def keyed_by(sdf: F, on: list[str] | None, name: str, repartition: bool) -> F:
    """``sdf`` keyed by the join columns ``on`` (repartitioned by them unless told not to),
    or as it is when ``on`` is None; the watermarks follow through a repartition topic."""
    if on is None:
        return sdf
    group = group_by(sdf, (on,), name, repartition)
    group._carry_watermarks()
    return group._keyed


def join_columns(on: str | list[str] | None) -> list[str] | None:
    if on is None:
        return None
    columns = [on] if isinstance(on, str) else list(on)
    if not columns or not all(isinstance(c, str) and c for c in columns):
        raise ConfigError("join on=... takes a column name or a list of them")
    return columns


def join_name(method: str, left: F, right: F, name: str | None) -> str:
    """The join's name: it names its stores and repartition topics."""
    chosen = name if name is not None else f"{left._origin.name}-{right._origin.name}"
    if not isinstance(chosen, str) or not _NAME.match(chosen):
        raise ConfigError(
            f"{method}(name={chosen!r}) is invalid: it names the join's stores and topics, so "
            "use 1-100 letters, digits, '.', '_' or '-'"
        )
    return chosen


def two_inputs(
    method: str,
    left: F,
    right: Any,
    on: str | list[str] | None,
    how: str,
    name: str | None,
    repartition: bool,
) -> tuple[F, F, str]:
    """Both inputs checked and keyed by the join key, and the join's name."""
    if not isinstance(right, type(left)) or right._plan is not left._plan:
        raise ConfigError(f"{method}() joins a DataFrame of the same app: app.dataframe(topic)")
    if how not in JOIN_HOW:
        raise ConfigError(f"{method}(how={how!r}): use 'inner' or 'left'")
    if left._origin.name == right._origin.name:
        raise ConfigError(
            f"{method}(): both inputs read topic {left._origin.name!r}; join two topics"
        )
    check_copartitioned(method, left, right)
    chosen = join_name(method, left, right, name)
    columns = join_columns(on)
    keyed_left = keyed_by(left, columns, f"{chosen}-left", repartition)
    keyed_right = keyed_by(right, columns, f"{chosen}-right", repartition)
    return keyed_left, keyed_right, chosen


def join_window_spec(window: Any) -> tuple[int, int, int | None]:
    """A window join's window as (size, step, gap) in ms: tumbling and hopping windows (no
    gap) or session windows (only a gap)."""
    from headwater.dataframe.windows import Window, WindowKind

    if not isinstance(window, Window):
        raise ConfigError(
            f"join_window() takes a window such as windows.tumbling('1m'), got "
            f"{type(window).__name__}"
        )
    if window.kind is WindowKind.TUMBLING:
        return window.size, window.size, None
    if window.kind is WindowKind.HOPPING:
        return window.size, window.step, None
    if window.kind is WindowKind.SESSION:
        return 0, 0, window.gap
    raise ConfigError(
        f"join_window() joins within tumbling, hopping or session windows, not {window.kind} "
        "ones; for records close in time whatever the window, use join_interval()"
    )
