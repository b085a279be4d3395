"""What an external store is to a lookup: many keys in, the rows found out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

# A lookup key is a scalar a stream column holds; a row is the store's fields for it.
Key = str | int
Row = dict[str, Any]


class ExternalStore(Protocol):
    """A store a lookup reads. ``fetch`` answers many keys in one request; a key it does not
    return has no row. It may raise: the client retries, then gives up with the reason."""

    @property
    def name(self) -> str:
        """How messages name the store (never its credentials)."""
        ...

    def fetch(self, keys: Sequence[Key]) -> Mapping[Key, Row]: ...

    def close(self) -> None: ...


class FunctionStore:
    """Any function of a list of keys to ``{key: row}``: a feature store's client, an HTTP API.

    >>> store = FunctionStore(lambda keys: {k: {"double": 2 * k} for k in keys if k > 0})
    >>> dict(store.fetch([1, -1]))
    {1: {'double': 2}}
    """

    def __init__(
        self, fetch: Callable[[Sequence[Key]], Mapping[Key, Row]], name: str | None = None
    ) -> None:
        if not callable(fetch):
            raise TypeError("FunctionStore needs a function of a list of keys to {key: row}")
        self._fetch = fetch
        self._name: str = name or str(getattr(fetch, "__qualname__", "function"))

    @property
    def name(self) -> str:
        return self._name

    def fetch(self, keys: Sequence[Key]) -> Mapping[Key, Row]:
        return self._fetch(keys)

    def close(self) -> None:
        pass
