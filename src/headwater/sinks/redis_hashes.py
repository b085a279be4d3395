"""Redis as the online feature store: a hash per entity with a time to live, pipelined."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
import redis

from headwater.errors import ConfigError


class RedisSink:
    """Each row becomes the hash ``prefix + key`` (its other columns as fields, null fields
    removed), expiring ``ttl`` seconds after its last write (None: never). Writes go in
    pipelines of ``chunk`` rows, one round trip each; writing the same row again is a no-op
    in effect, so replays are safe.
    """

    def __init__(
        self,
        url: str,
        key: str | Sequence[str],
        prefix: str = "",
        ttl: float | None = None,
        chunk: int = 1000,
    ) -> None:
        self._key = [key] if isinstance(key, str) else list(key)
        if not self._key:
            raise ConfigError("RedisSink: key must name the column(s) that identify an entity")
        if ttl is not None and (not isinstance(ttl, int | float) or ttl <= 0):
            raise ConfigError("RedisSink: ttl must be a number of seconds > 0, or None")
        if not isinstance(chunk, int) or chunk < 1:
            raise ConfigError("RedisSink: chunk must be a whole number of rows >= 1")
        self._client: redis.Redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._ttl_ms = None if ttl is None else int(ttl * 1000)
        self._chunk = chunk

    def write(self, frame: pl.DataFrame) -> int:
        """Write ``frame``'s rows; returns how many."""
        missing = [k for k in self._key if k not in frame.columns]
        if missing:
            raise ConfigError(f"RedisSink: key column(s) {missing} are not in the records")
        fields = [c for c in frame.columns if c not in self._key]
        names = frame.select(
            pl.concat_str([pl.col(k).cast(pl.String) for k in self._key], separator=":")
        ).to_series()
        for start in range(0, frame.height, self._chunk):
            pipe = self._client.pipeline(transaction=False)
            rows = frame.slice(start, self._chunk).select(fields).iter_rows()
            for name, row in zip(names.slice(start, self._chunk), rows, strict=True):
                target = f"{self._prefix}{name}"
                present: dict[Any, Any] = {
                    f: _text(v) for f, v in zip(fields, row, strict=True) if v is not None
                }
                absent = [f for f, v in zip(fields, row, strict=True) if v is None]
                if present:
                    pipe.hset(target, mapping=present)
                if absent:
                    pipe.hdel(target, *absent)
                if self._ttl_ms is not None:
                    pipe.pexpire(target, self._ttl_ms)
            pipe.execute()
        return frame.height

    def close(self) -> None:
        self._client.close()


def _text(value: object) -> str | int | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str | int | float):
        return value
    return str(value)
