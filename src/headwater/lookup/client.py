"""The lookup client: cache, chunks, requests in flight and retries around an external store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import polars as pl
from cachetools import TTLCache
from tenacity import Retrying, stop_after_attempt, wait_exponential, wait_random

from headwater.errors import ConfigError, LookupFailed
from headwater.lookup.store import ExternalStore, Key, Row

# A key the store has no row for is cached too, so a missing customer is not asked for again
# on every record until the entry expires.
_MISSING: Row = {}


@dataclass(frozen=True)
class LookupPolicy:
    """How a lookup treats its store.

    ``batch_size`` keys go in one request and at most ``max_in_flight`` requests run at once;
    answers are cached for ``cache_ttl`` seconds, up to ``cache_size`` keys (0: no cache); a
    failed request is tried again ``retries`` times, waiting ``backoff`` seconds and doubling
    (with jitter) up to ``max_backoff``.
    """

    batch_size: int = 1000
    max_in_flight: int = 4
    cache_size: int = 100_000
    cache_ttl: float = 60.0
    retries: int = 3
    backoff: float = 0.1
    max_backoff: float = 5.0

    def __post_init__(self) -> None:
        for field in ("batch_size", "max_in_flight"):
            if not isinstance(getattr(self, field), int) or getattr(self, field) < 1:
                raise ConfigError(f"LookupPolicy.{field} must be a whole number of at least 1")
        for field in ("cache_size", "retries"):
            if not isinstance(getattr(self, field), int) or getattr(self, field) < 0:
                raise ConfigError(f"LookupPolicy.{field} must be a whole number of at least 0")
        for field in ("cache_ttl", "backoff", "max_backoff"):
            value = getattr(self, field)
            if not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"LookupPolicy.{field} must be a number of seconds, >= 0")


class LookupClient:
    """Answers the keys of a micro-batch from ``store``, as few requests as the cache allows.

    >>> from headwater.lookup import FunctionStore
    >>> client = LookupClient(FunctionStore(lambda keys: {k: {"tier": "gold"} for k in keys}))
    >>> client.fetch(["c1", "c1", "c2"])
    {'c1': {'tier': 'gold'}, 'c2': {'tier': 'gold'}}
    >>> client.requests
    1
    """

    def __init__(
        self,
        store: ExternalStore,
        policy: LookupPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.policy = policy or LookupPolicy()
        self._cache: TTLCache[Key, Row] | None = (
            TTLCache(self.policy.cache_size, self.policy.cache_ttl, timer=clock)
            if self.policy.cache_size
            else None
        )
        self._sleep = sleep
        self._pool = ThreadPoolExecutor(self.policy.max_in_flight, "headwater-lookup")
        self._counting = threading.Lock()  # requests are counted from the pool's threads
        self.requests = 0  # requests sent to the store, retries included
        self.cache_hits = 0

    def fetch(self, keys: Iterable[Key | None]) -> dict[Key, Row]:
        """The row of every key that has one; missing keys (and None) are absent.

        Raises :class:`LookupFailed` when a request still fails after the retries."""
        wanted = list(dict.fromkeys(k for k in keys if k is not None))
        found: dict[Key, Row] = {}
        misses: list[Key] = []
        for key in wanted:
            row = self._cache.get(key) if self._cache is not None else None
            if row is None:
                misses.append(key)
            else:
                self.cache_hits += 1
                if row is not _MISSING:
                    found[key] = row
        size = self.policy.batch_size
        chunks = [misses[i : i + size] for i in range(0, len(misses), size)]
        # The pool has max_in_flight threads: that many requests at once, the rest queue.
        for chunk, answer in zip(chunks, self._pool.map(self._request, chunks), strict=True):
            for key in chunk:
                row = answer.get(key)
                if self._cache is not None:
                    self._cache[key] = _MISSING if row is None else row
                if row is not None:
                    found[key] = row
        return found

    def frame(self, keys: pl.Series) -> pl.DataFrame:
        """The rows found for ``keys`` as a frame with a column named like ``keys``, one row
        per distinct key found: ready to join onto the batch."""
        rows = self.fetch(keys.to_list())
        if not rows:
            return pl.DataFrame({keys.name: pl.Series([], dtype=keys.dtype)})
        frame = pl.from_dicts(
            [{**row, keys.name: key} for key, row in rows.items()], infer_schema_length=None
        )
        return frame.with_columns(pl.col(keys.name).cast(keys.dtype, strict=False))

    def _request(self, chunk: Sequence[Key]) -> dict[Key, Row]:
        policy = self.policy
        retrying = Retrying(
            stop=stop_after_attempt(policy.retries + 1),
            # Doubling waits, each with up to one backoff of jitter so replicas do not retry
            # in step.
            wait=wait_exponential(multiplier=policy.backoff, max=policy.max_backoff)
            + wait_random(0, policy.backoff),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    with self._counting:
                        self.requests += 1
                    return dict(self.store.fetch(chunk))
        except Exception as exc:
            raise LookupFailed(
                f"{self.store.name} failed {policy.retries + 1} times for {len(chunk)} keys: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.store.close()

    def __enter__(self) -> LookupClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
