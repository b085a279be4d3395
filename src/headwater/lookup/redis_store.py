"""Redis as a lookup store (an online feature store): pipelined reads, one round trip a chunk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import orjson
import redis

from headwater.errors import ConfigError
from headwater.lookup.store import Key, Row

Layout = Literal["hash", "json"]


class RedisStore:
    """Rows stored under ``prefix + key``: as a hash of fields (``layout="hash"``, the layout
    feature stores write; every field reads as text unless ``types`` converts it) or as one
    JSON object (``layout="json"``, read with ``MGET``)."""

    def __init__(
        self,
        url: str,
        prefix: str = "",
        layout: Layout = "hash",
        types: Mapping[str, type] | None = None,
    ) -> None:
        if layout not in ("hash", "json"):
            raise ConfigError(f'RedisStore: layout must be "hash" or "json", not {layout!r}')
        self._client: redis.Redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._layout = layout
        self._types = dict(types or {})

    @property
    def name(self) -> str:
        return f"Redis keys {self._prefix}*"

    def fetch(self, keys: Sequence[Key]) -> Mapping[Key, Row]:
        names = [f"{self._prefix}{k}" for k in keys]
        if self._layout == "json":
            found: list[Any] = self._client.mget(names)
            return {k: orjson.loads(v) for k, v in zip(keys, found, strict=True) if v is not None}
        pipe = self._client.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(name)
        rows: dict[Key, Row] = {}
        for key, fields in zip(keys, pipe.execute(), strict=True):
            if fields:
                rows[key] = {f.decode(): self._convert(f.decode(), v) for f, v in fields.items()}
        return rows

    def _convert(self, field: str, value: bytes) -> Any:
        text = value.decode()
        kind = self._types.get(field)
        return text if kind is None else kind(text)

    def close(self) -> None:
        self._client.close()
