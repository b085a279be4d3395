"""State: the user's view of one record key's state, at the event time of the current record."""

from __future__ import annotations

from typing import Any, Protocol

from headwater.errors import StateError
from headwater.state.encoding import encode_value, entry_key


class Entries(Protocol):
    """Where a State reads and writes its entries (a PartitionStore), by entry key."""

    def read_entry(self, entry: bytes, default: Any, now_ms: int | None) -> Any:
        """The entry's value, or ``default`` when it is unset or expired at ``now_ms``."""
        ...

    def write_entry(self, entry: bytes, data: bytes | None) -> None:
        """Set the entry's encoded value (None: delete it)."""
        ...

    def has_entry(self, entry: bytes, now_ms: int | None) -> bool:
        """Whether the entry is set and not expired at ``now_ms``."""
        ...


class State:
    """Named values kept for one record key, surviving restarts and rebalances.

    Values are any JSON-able Python value (None, bool, int, float, str, lists, dicts with str
    keys), stored with orjson: tuples come back as lists, datetimes as ISO-8601 text. ``get``
    returns a copy; ``set`` it again to keep a change.

    ``set(name, value, ttl_ms=...)`` makes the entry expire ``ttl_ms`` milliseconds of *event*
    time after the record that set it: a read by a record whose timestamp is at or past the
    expiry returns the default and deletes the entry.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from headwater.state import PartitionStore
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     store = PartitionStore(Path(tmp), "sessions", "clicks", 0)
    ...     store.state("alice", timestamp_ms=1_000).set("page", "/home", ttl_ms=500)
    ...     store.state("alice", timestamp_ms=1_499).get("page")
    ...     store.state("alice", timestamp_ms=1_500).get("page", "gone")
    ...     store.close()
    '/home'
    'gone'
    """

    __slots__ = ("_key", "_store", "timestamp_ms")

    def __init__(self, store: Entries, key: bytes, timestamp_ms: int | None) -> None:
        self._store = store
        self._key = key
        self.timestamp_ms = timestamp_ms

    @property
    def key(self) -> bytes:
        """The record key, as the bytes state is stored under."""
        return self._key

    def get(self, name: str, default: Any = None) -> Any:
        """The value of ``name``, or ``default`` when it is unset or expired."""
        return self._store.read_entry(entry_key(self._key, name), default, self.timestamp_ms)

    def set(self, name: str, value: Any, ttl_ms: int | None = None) -> None:
        """Set ``name``; with ``ttl_ms`` it expires that long after this record's event time."""
        expires_at = None
        if ttl_ms is not None:
            if not isinstance(ttl_ms, int) or isinstance(ttl_ms, bool) or ttl_ms <= 0:
                raise StateError(f"ttl_ms={ttl_ms!r} for {name!r}: give milliseconds as an int > 0")
            if self.timestamp_ms is None:
                raise StateError(
                    f"set({name!r}, ttl_ms=...) needs the record's event time, and this State "
                    "has none; create it with store.state(key, timestamp_ms=...)"
                )
            expires_at = self.timestamp_ms + ttl_ms
        self._store.write_entry(entry_key(self._key, name), encode_value(value, name, expires_at))

    def delete(self, name: str) -> None:
        """Forget ``name``."""
        self._store.write_entry(entry_key(self._key, name), None)

    def exists(self, name: str) -> bool:
        """Whether ``name`` is set and not expired."""
        return self._store.has_entry(entry_key(self._key, name), self.timestamp_ms)

    def __repr__(self) -> str:
        return f"State(key={self._key!r}, timestamp_ms={self.timestamp_ms})"
