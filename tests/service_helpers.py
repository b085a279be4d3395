"""Where the tests find PostgreSQL and Redis (started by scripts/services.sh), and a Redis key
prefix of a test's own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

POSTGRES_URL = os.environ.get(
    "HEADWATER_TEST_POSTGRES", "postgresql://headwater:headwater@127.0.0.1:5432/headwater_test"
)
REDIS_URL = os.environ.get("HEADWATER_TEST_REDIS", "redis://127.0.0.1:6379/0")


@contextmanager
def redis_key_prefix() -> Iterator[str]:
    """A fresh key prefix; every key under it is deleted at the end."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
