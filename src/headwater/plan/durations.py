"""Durations in configuration (``"5s"``, ``timedelta``), as the plan keeps them: milliseconds."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from headwater.errors import ConfigError

_UNITS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


def duration_ms(value: Any, field: str, *, zero: bool = True) -> int:
    """A duration given as ``timedelta`` or text like ``"500ms"``, ``"5s"``, ``"2m"``, ``"1h"``,
    ``"1d"``, in milliseconds.

    >>> duration_ms("1.5s", "timeout")
    1500
    """
    if isinstance(value, timedelta):
        ms = round(value.total_seconds() * 1000)
    elif isinstance(value, str) and _DURATION.match(value):
        match = _DURATION.match(value)
        assert match is not None
        ms = round(float(match.group(1)) * _UNITS[match.group(2)])
    else:
        raise ConfigError(
            f"{field}={value!r} is not a duration: give a timedelta or text such as "
            "'500ms', '5s', '2m', '1h' or '1d'"
        )
    if ms < 0 or (ms == 0 and not zero):
        raise ConfigError(f"{field}={value!r} must be {'>= 0' if zero else '> 0'}")
    return ms
