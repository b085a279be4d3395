"""Sinks beyond topics: Parquet files, PostgreSQL tables and Redis as an online feature store.

Each sink takes whole micro-batches (Polars frames) and is written so that replaying the same
input after a crash writes the same rows again, never different ones: PostgreSQL and Redis
upsert by key, and Parquet files are named by the caller's batch id, so a replay replaces a
file with the same rows.
"""

from headwater.sinks.parquet import ParquetSink
from headwater.sinks.postgres import PostgresSink
from headwater.sinks.redis_hashes import RedisSink

__all__ = ["ParquetSink", "PostgresSink", "RedisSink"]
