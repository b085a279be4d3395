"""Lookups against external stores: the rows a stream's keys point to, fetched per micro-batch.

A :class:`LookupClient` asks an :class:`ExternalStore` (PostgreSQL, Redis, or any function)
for the distinct keys of a batch at once, through a bounded cache, in chunks with a bounded
number of requests in flight, retrying with backoff; when the store keeps failing it raises
:class:`~headwater.errors.LookupFailed`, which the pipeline sends to the dead letters or stops
on, as configured.
"""

from headwater.lookup.client import LookupClient, LookupPolicy
from headwater.lookup.postgres_store import PostgresStore
from headwater.lookup.redis_store import RedisStore
from headwater.lookup.store import ExternalStore, FunctionStore, Key, Row

__all__ = [
    "ExternalStore",
    "FunctionStore",
    "Key",
    "LookupClient",
    "LookupPolicy",
    "PostgresStore",
    "RedisStore",
    "Row",
]
