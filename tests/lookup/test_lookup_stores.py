"""The PostgreSQL and Redis stores against the real services the test command starts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import orjson
import psycopg
import pytest
import redis
from service_helpers import POSTGRES_URL, REDIS_URL, redis_key_prefix

from headwater.errors import ConfigError, LookupFailed
from headwater.lookup import LookupClient, LookupPolicy, PostgresStore, RedisStore


@pytest.fixture
def customers_table() -> Iterator[str]:
    table = f"customers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        db.execute(f"CREATE TABLE {table} (id text PRIMARY KEY, tier text, spend double precision)")
        with db.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {table} VALUES (%s, %s, %s)",
                [(f"c{i}", "gold" if i % 2 else "silver", i * 1.5) for i in range(2000)],
            )
        try:
            yield table
        finally:
            db.execute(f"DROP TABLE {table}")


def test_postgres_rows_by_key_in_one_query_per_chunk(customers_table: str) -> None:
    store = PostgresStore(POSTGRES_URL, customers_table, key="id", columns=["tier", "spend"])
    with LookupClient(store, LookupPolicy(batch_size=500, max_in_flight=2)) as client:
        keys = [f"c{i}" for i in range(0, 2000, 2)] + ["nobody"]
        found = client.fetch(keys)
        assert len(found) == 1000
        assert found["c4"] == {"id": "c4", "tier": "silver", "spend": 6.0}
        assert client.requests == 3  # 1,001 keys in chunks of 500


def test_postgres_names_that_are_not_identifiers_cannot_inject(customers_table: str) -> None:
    store = PostgresStore(POSTGRES_URL, customers_table, key="id; DROP TABLE x", columns=None)
    with (
        LookupClient(store, LookupPolicy(retries=0)) as client,
        pytest.raises(LookupFailed, match="does not exist"),
    ):
        client.fetch(["c1"])
    with pytest.raises(ConfigError, match="key"):
        PostgresStore(POSTGRES_URL, customers_table, key="")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    with redis_key_prefix() as prefix:
        yield prefix


def test_redis_hashes_are_read_in_one_pipeline(redis_prefix: str) -> None:
    writer = redis.Redis.from_url(REDIS_URL)
    for i in range(50):
        writer.hset(f"{redis_prefix}c{i}", mapping={"tier": "gold", "orders": i})
    store = RedisStore(REDIS_URL, prefix=redis_prefix, types={"orders": int})
    with LookupClient(store) as client:
        found = client.fetch([f"c{i}" for i in range(60)])
        assert len(found) == 50
        assert found["c7"] == {"tier": "gold", "orders": 7}
        assert client.requests == 1


def test_redis_json_values_are_read_with_mget(redis_prefix: str) -> None:
    writer = redis.Redis.from_url(REDIS_URL)
    writer.set(f"{redis_prefix}c1", orjson.dumps({"tier": "gold", "spend": 12.5}))
    store = RedisStore(REDIS_URL, prefix=redis_prefix, layout="json")
    with LookupClient(store) as client:
        assert client.fetch(["c1", "c2"]) == {"c1": {"tier": "gold", "spend": 12.5}}


def test_an_unreachable_redis_fails_after_the_retries() -> None:
    store = RedisStore("redis://127.0.0.1:1/0")
    policy = LookupPolicy(retries=1, backoff=0)
    with LookupClient(store, policy) as client, pytest.raises(LookupFailed, match="Redis"):
        client.fetch(["c1"])
    with pytest.raises(ConfigError, match="layout"):
        RedisStore(REDIS_URL, layout="xml")  # type: ignore[arg-type]
