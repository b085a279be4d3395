"""PostgreSQL as a lookup store: one ``WHERE key = ANY(...)`` query per chunk of keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from headwater.errors import ConfigError
from headwater.lookup.store import Key, Row


class PostgresStore:
    """Rows of ``table`` by ``key``: ``columns`` of them (all when None).

    ``dsn`` is a libpq connection string or URL; pass it from the app's settings or an
    environment variable the platform fills from a secret, never written in code. Connections
    are pooled, one per request in flight.
    """

    def __init__(
        self,
        dsn: str,
        table: str,
        key: str,
        columns: Sequence[str] | None = None,
        schema: str | None = None,
        max_connections: int = 4,
    ) -> None:
        for field, value in (("table", table), ("key", key)):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"PostgresStore: {field} must be a column or table name")
        if columns is not None and (isinstance(columns, str) or not all(columns)):
            raise ConfigError("PostgresStore: columns must be a list of column names, or None")
        self._table = table if schema is None else f"{schema}.{table}"
        self._key = key
        target = sql.Identifier(table) if schema is None else sql.Identifier(schema, table)
        selected = (
            sql.SQL("*")
            if columns is None
            else sql.SQL(", ").join(sql.Identifier(c) for c in [key, *columns])
        )
        self._query = sql.SQL("SELECT {} FROM {} WHERE {} = ANY(%s)").format(
            selected, target, sql.Identifier(key)
        )
        self._pool = ConnectionPool(
            dsn, min_size=0, max_size=max_connections, open=True, kwargs={"autocommit": True}
        )

    @property
    def name(self) -> str:
        return f"PostgreSQL table {self._table}"

    def fetch(self, keys: Sequence[Key]) -> Mapping[Key, Row]:
        with self._pool.connection() as connection, connection.cursor(row_factory=dict_row) as cur:
            cur.execute(self._query, (list(keys),))
            return {row[self._key]: row for row in cur.fetchall()}

    def close(self) -> None:
        self._pool.close()
