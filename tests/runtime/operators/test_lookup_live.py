"""Lookups live through the broker against the real PostgreSQL and Redis: one query per batch at
most, cache hits and expiry, and a store that goes away and comes back loses no record."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
import redis
from integration_helpers import (
    FAST_GROUP,
    AppThread,
    produce_records,
    read_topic,
    running,
    wait_for_records,
    wait_until,
)
from service_helpers import POSTGRES_URL, REDIS_URL, redis_key_prefix

from headwater import App
from headwater.lookup import Key, LookupPolicy, PostgresStore, RedisStore, Row

pytestmark = pytest.mark.broker

CUSTOMERS = 40


class CountingPostgresStore(PostgresStore):
    """The real store, counting its queries and the keys they ask for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queries: list[int] = []  # keys per query

    def fetch(self, keys: Sequence[Key]) -> dict[Key, Row]:
        self.queries.append(len(keys))
        return dict(super().fetch(keys))


@pytest.fixture
def customers_table() -> Iterator[str]:
    table = f"lookup_customers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        db.execute(f"CREATE TABLE {table} (id text PRIMARY KEY, tier text)")
        with db.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {table} VALUES (%s, %s)",
                [(f"c{i}", "gold" if i % 2 else "silver") for i in range(CUSTOMERS)],
            )
        try:
            yield table
        finally:
            db.execute(f"DROP TABLE {table}")


def _orders(count: int, start: int = 0) -> list[tuple[bytes, bytes, None, None]]:
    rows = [{"id": start + i, "customer": f"c{(start + i) % CUSTOMERS}"} for i in range(count)]
    return [(r["customer"].encode(), orjson.dumps(r), None, None) for r in rows]


def _values(messages: list[Any]) -> list[dict[str, Any]]:
    return [orjson.loads(m.value()) for m in messages]


def test_postgres_lookups_ask_once_per_batch_and_each_key_once_while_cached(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    customers_table: str,
    tmp_path: Path,
) -> None:
    source, out = make_topic("orders", partitions=2), unique("enriched")
    store = CountingPostgresStore(POSTGRES_URL, customers_table, key="id", columns=["tier"])
    app = App(
        unique("pglookup"),
        bootstrap,
        consumer_config=FAST_GROUP,
        max_batch_records=50,
        state_dir=tmp_path / "state",
    )
    orders = app.dataframe(app.topic(source))
    policy = LookupPolicy(cache_ttl=0.5)
    enriched = orders.lookup(store, on="customer", fields=["tier"], policy=policy)
    enriched.to_topic(app.topic(out))
    produce_records(bootstrap, source, _orders(400))
    with running(app):
        found = _values(wait_for_records(bootstrap, out, 400, timeout=60))
        assert sorted(r["id"] for r in found) == list(range(400))
        for r in found:
            assert r["tier"] == ("gold" if int(r["customer"][1:]) % 2 else "silver"), r
        # At most one query per batch of 50 (8 batches at the least), and a key is asked
        # again only once its cached answer expired (0.5 s).
        assert 1 <= len(store.queries) <= 400 // 50 * 2
        assert all(asked <= CUSTOMERS for asked in store.queries)
        # A changed row shows once the cached one expires: no restart, no stale answer kept.
        with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
            db.execute(f"UPDATE {customers_table} SET tier = 'platinum' WHERE id = 'c1'")
        sent = [400]

        def platinum_arrives() -> bool:
            produce_records(bootstrap, source, [_orders(1, start=sent[0] * CUSTOMERS + 1)[0]])
            sent[0] += 1
            return any(r["tier"] == "platinum" for r in _values(read_topic(bootstrap, out)))

        wait_until(platinum_arrives, timeout=30, interval=0.2)


class Outage:
    """A TCP proxy to a real service that can go away (connections refused and cut) and come
    back on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with suppress(OSError):  # wakes the accepting thread: close() alone would not
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for conn in self._open:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed: the service is down
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.mark.parametrize("on_failure", ["dead-letter", "stop"])
def test_a_redis_that_goes_away_and_comes_back_loses_no_record(
    bootstrap: str,
    make_topic: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    on_failure: str,
) -> None:
    host, port = REDIS_URL.removeprefix("redis://").split("/")[0].split(":")
    outage = Outage((host, int(port)))
    source, out = make_topic("orders", partitions=2), unique("enriched")
    name = unique("redislookup")
    with redis_key_prefix() as prefix:
        writer = redis.Redis.from_url(REDIS_URL)
        for i in range(CUSTOMERS):
            writer.hset(f"{prefix}c{i}", mapping={"tier": "gold" if i % 2 else "silver"})

        def app() -> App:
            app = App(
                name,
                bootstrap,
                consumer_config=FAST_GROUP,
                max_batch_records=20,
                state_dir=tmp_path / "state",
            )
            store = RedisStore(f"redis://127.0.0.1:{outage.port}/0", prefix=prefix)
            policy = LookupPolicy(cache_size=0, retries=1, backoff=0.01, max_backoff=0.02)
            orders = app.dataframe(app.topic(source))
            enriched = orders.lookup(
                store,
                on="customer",
                policy=policy,
                on_failure=on_failure,  # type: ignore[arg-type]
            )
            enriched.to_topic(app.topic(out))
            return app

        produce_records(bootstrap, source, _orders(100))
        first = AppThread(app()).start()
        try:
            wait_for_records(bootstrap, out, 100, timeout=60)
            outage.down()
            produce_records(bootstrap, source, _orders(100, start=100))
            if on_failure == "stop":
                first.join(timeout=60)  # the app stops on its own, naming the store
                assert "Redis" in str(first.error), first.error
            else:
                dlq = f"{name}.dlq"
                wait_until(lambda: len(read_topic(bootstrap, dlq)) > 0, timeout=60, interval=0.2)
        finally:
            if first.alive:
                first.stop()
        outage.up()
        produce_records(bootstrap, source, _orders(100, start=200))
        with running(app()):
            wait_until(
                lambda: (
                    {r["id"] for r in _values(read_topic(bootstrap, out))} >= set(range(200, 300))
                ),
                timeout=60,
                interval=0.2,
            )
        outage.down()
    enriched = _values(read_topic(bootstrap, out))
    letters = read_topic(bootstrap, f"{name}.dlq") if on_failure == "dead-letter" else []
    lettered = [orjson.loads(m.value())["id"] for m in letters]
    # Nothing lost: every order is enriched, or (store down, dead-letter) a dead letter with the
    # reason; stopping, every order is enriched once the store is back.
    assert {r["id"] for r in enriched} | set(lettered) == set(range(300))
    assert all(r["tier"] in ("gold", "silver") for r in enriched)
    if on_failure == "stop":
        assert lettered == []
        assert {r["id"] for r in enriched} == set(range(300))
    else:
        assert lettered, "the outage sent records to the dead letters"
        reasons = {dict(m.headers() or [])["headwater.error.reason"] for m in letters}
        assert all(b"Redis" in reason for reason in reasons), reasons
