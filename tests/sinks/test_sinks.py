"""Parquet, PostgreSQL and Redis sinks: the rows land, and a replay writes the same rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import psycopg
import pytest
import redis
from service_helpers import POSTGRES_URL, REDIS_URL, redis_key_prefix

from headwater.errors import ConfigError
from headwater.sinks import ParquetSink, PostgresSink, RedisSink


def features(n: int, window: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer": [f"c{i % 50}" for i in range(n)],
            "window_start": [window] * n,
            "day": ["2026-12-0" + str(1 + i % 3) for i in range(n)],
            "orders": list(range(n)),
            "spend": [i * 1.5 for i in range(n)],
        }
    )


def test_parquet_files_are_partitioned_rolled_and_replaced_on_replay(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path / "features", partition_by=["day"], max_file_bytes=4096)
    batch = features(3000)
    sink.write(batch.slice(0, 1000))
    sink.write(batch.slice(1000))
    files = sink.commit("orders-0-0-2999")
    assert {f.parent.name for f in files} == {"day=2026-12-01", "day=2026-12-02", "day=2026-12-03"}
    assert len(files) > 3  # rolled: more than one file per partition
    assert not list((tmp_path / "features").rglob("*.tmp"))
    first = sink.read().sort("orders")
    assert first.height == 3000
    assert first.select(batch.columns).equals(batch.sort("orders"))

    sink.write(batch)  # the same input replayed after a crash, with the same batch id
    assert sorted(sink.commit("orders-0-0-2999")) == sorted(files)
    assert sink.read().sort("orders").equals(first)
    assert sink.commit("nothing-pending") == []


def test_parquet_needs_its_partition_columns(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path, partition_by="region")
    with pytest.raises(ConfigError, match=r"partition column\(s\) \['region'\]"):
        sink.write(features(3))
    with pytest.raises(ConfigError, match="max_file_bytes"):
        ParquetSink(tmp_path, max_file_bytes=0)


@pytest.fixture
def feature_table() -> Iterator[str]:
    table = f"features_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        db.execute(
            f"CREATE TABLE {table} (customer text, window_start bigint, day text, "
            "orders bigint, spend double precision, PRIMARY KEY (customer, window_start))"
        )
        try:
            yield table
        finally:
            db.execute(f"DROP TABLE {table}")


def table_rows(table: str) -> list[tuple[object, ...]]:
    with psycopg.connect(POSTGRES_URL) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY customer, window_start").fetchall()


def test_postgres_upserts_on_the_key_and_replays_change_nothing(feature_table: str) -> None:
    sink = PostgresSink(POSTGRES_URL, feature_table, key=["customer", "window_start"])
    assert sink.write(features(200)) == 50  # 50 customers: the last row of each wins
    once = table_rows(feature_table)
    assert len(once) == 50
    assert ("c7", 0, "2026-12-02", 157, 235.5) in once
    sink.write(features(200))  # replayed
    assert table_rows(feature_table) == once
    sink.write(features(200, window=60_000))  # the next window: new rows
    assert len(table_rows(feature_table)) == 100
    with pytest.raises(ConfigError, match="key column"):
        sink.write(pl.DataFrame({"orders": [1]}))
    sink.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    with redis_key_prefix() as prefix:
        yield prefix


def test_redis_writes_a_hash_per_entity_with_a_ttl(redis_prefix: str) -> None:
    sink = RedisSink(REDIS_URL, key="customer", prefix=redis_prefix, ttl=3600, chunk=64)
    sink.write(features(200).drop("window_start", "day"))
    reader = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    assert reader.hgetall(f"{redis_prefix}c7") == {"orders": "157", "spend": "235.5"}
    assert 3500 < reader.ttl(f"{redis_prefix}c7") <= 3600
    assert len(list(reader.scan_iter(f"{redis_prefix}*"))) == 50
    sink.write(pl.DataFrame({"customer": ["c7"], "orders": [158], "spend": [None]}))
    assert reader.hgetall(f"{redis_prefix}c7") == {"orders": "158"}  # a null removes its field
    with pytest.raises(ConfigError, match="ttl"):
        RedisSink(REDIS_URL, key="customer", ttl=0)
