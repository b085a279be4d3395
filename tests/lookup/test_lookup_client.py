"""The lookup client around a store: batching, cache, requests in flight, retries, failure."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import polars as pl
import pytest
from kafka_helpers import wait_until

from headwater.errors import ConfigError, LookupFailed
from headwater.lookup import FunctionStore, Key, LookupClient, LookupPolicy, Row


class CountingStore:
    """A store of ``rows`` that records every request and how many ran at once."""

    def __init__(self, rows: Mapping[Key, Row], failures: int = 0) -> None:
        self.rows = dict(rows)
        self.requests: list[list[Key]] = []
        self.failures = failures
        self.running = 0
        self.most_running = 0
        self._lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()

    @property
    def name(self) -> str:
        return "the test store"

    def fetch(self, keys: Sequence[Key]) -> Mapping[Key, Row]:
        with self._lock:
            self.requests.append(list(keys))
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            failing = self.failures > 0
            self.failures -= 1
        try:
            assert self.gate.wait(30), "the test never opened the gate"
            if failing:
                raise ConnectionError("connection refused")
            return {k: self.rows[k] for k in keys if k in self.rows}
        finally:
            with self._lock:
                self.running -= 1

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


ROWS = {f"c{i}": {"tier": "gold" if i % 2 else "silver", "score": i} for i in range(100)}


def test_one_request_answers_the_distinct_keys_of_a_batch() -> None:
    store = CountingStore(ROWS)
    client = LookupClient(store)
    found = client.fetch(["c1", "c2", "c1", None, "nobody"])
    assert found == {"c1": ROWS["c1"], "c2": ROWS["c2"]}
    assert store.requests == [["c1", "c2", "nobody"]]


def test_cached_keys_are_not_asked_again_until_they_expire() -> None:
    store, clock = CountingStore(ROWS), Clock()
    client = LookupClient(store, LookupPolicy(cache_ttl=60), clock=clock)
    client.fetch(["c1", "nobody"])
    assert client.fetch(["c1", "nobody", "c3"]) == {"c1": ROWS["c1"], "c3": ROWS["c3"]}
    assert store.requests == [["c1", "nobody"], ["c3"]]  # a missing key is cached too
    clock.now = 61
    client.fetch(["c1"])
    assert store.requests[-1] == ["c1"]


def test_the_cache_holds_at_most_its_size() -> None:
    store = CountingStore(ROWS)
    client = LookupClient(store, LookupPolicy(cache_size=10))
    client.fetch([f"c{i}" for i in range(50)])
    client.fetch([f"c{i}" for i in range(50)])
    assert len(store.requests[1]) >= 40


def test_no_cache_asks_every_time() -> None:
    store = CountingStore(ROWS)
    client = LookupClient(store, LookupPolicy(cache_size=0))
    client.fetch(["c1"])
    client.fetch(["c1"])
    assert store.requests == [["c1"], ["c1"]]


def test_keys_go_in_chunks_with_a_bounded_number_in_flight() -> None:
    store = CountingStore(ROWS)
    store.gate.clear()
    client = LookupClient(store, LookupPolicy(batch_size=10, max_in_flight=3))
    result: dict[Key, Row] = {}
    worker = threading.Thread(target=lambda: result.update(client.fetch(list(ROWS))))
    worker.start()
    wait_until(lambda: store.running == 3)  # the pool is full: three requests at the gate
    store.gate.set()
    worker.join(30)
    assert result == ROWS
    assert sorted(len(r) for r in store.requests) == [10] * 10
    assert store.most_running == 3


def test_a_failing_request_is_retried_with_growing_waits() -> None:
    store = CountingStore(ROWS, failures=2)
    waits: list[float] = []
    client = LookupClient(store, LookupPolicy(retries=3, backoff=0.1), sleep=waits.append)
    assert client.fetch(["c1"]) == {"c1": ROWS["c1"]}
    assert client.requests == 3
    assert len(waits) == 2 and 0.1 <= waits[0] <= 0.2 <= waits[1] <= 0.3


def test_a_store_that_keeps_failing_names_itself_and_the_reason() -> None:
    store = CountingStore(ROWS, failures=10)
    client = LookupClient(store, LookupPolicy(retries=2), sleep=lambda _: None)
    with pytest.raises(LookupFailed, match=r"the test store failed 3 times.*connection refused"):
        client.fetch(["c1", "c2"])
    assert client.requests == 3


def test_the_frame_of_found_rows_joins_onto_a_batch() -> None:
    client = LookupClient(FunctionStore(lambda keys: {k: ROWS[k] for k in keys if k in ROWS}))
    batch = pl.DataFrame({"customer": ["c1", "c2", "nobody", "c1"], "amount": [1, 2, 3, 4]})
    found = client.frame(batch["customer"])
    joined = batch.join(found, on="customer", how="left")
    assert joined["tier"].to_list() == ["gold", "silver", None, "gold"]
    assert joined["score"].to_list() == [1, 2, None, 1]
    assert client.frame(pl.Series("customer", ["nobody"])).columns == ["customer"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("batch_size", 0), ("max_in_flight", -1), ("cache_size", -1), ("cache_ttl", "soon")],
)
def test_a_bad_policy_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"LookupPolicy.{field}"):
        LookupPolicy(**{field: value})  # type: ignore[arg-type]
