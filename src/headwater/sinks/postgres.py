"""PostgreSQL tables: batched upserts on a key."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import psycopg
from psycopg import sql

from headwater.errors import ConfigError


class PostgresSink:
    """Upserts rows into ``table`` on its ``key`` columns (which need a unique index or the
    primary key): a row replayed after a crash overwrites itself with the same values.

    Each :meth:`write` is one transaction: the batch's rows go through ``COPY`` into a
    temporary table, then one ``INSERT ... ON CONFLICT DO UPDATE`` moves them in, the last row
    of a key within the batch winning.
    """

    def __init__(self, dsn: str, table: str, key: Sequence[str], schema: str | None = None) -> None:
        if isinstance(key, str):
            key = [key]
        if not key or not all(isinstance(k, str) and k for k in key):
            raise ConfigError("PostgresSink: key must name the column(s) rows are upserted on")
        self._dsn = dsn
        self._table = sql.Identifier(table) if schema is None else sql.Identifier(schema, table)
        self._key = list(key)
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def write(self, frame: pl.DataFrame) -> int:
        """Upsert ``frame``'s rows; returns how many distinct keys it wrote."""
        missing = [k for k in self._key if k not in frame.columns]
        if missing:
            raise ConfigError(f"PostgresSink: key column(s) {missing} are not in the records")
        if frame.height == 0:
            return 0
        rows = frame.unique(subset=self._key, keep="last", maintain_order=True)
        columns = [sql.Identifier(c) for c in rows.columns]
        updates = [c for c in rows.columns if c not in self._key]
        conflict = (
            sql.SQL("DO UPDATE SET ")
            + sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in updates
            )
            if updates
            else sql.SQL("DO NOTHING")
        )
        connection = self._connect()
        with connection.transaction(), connection.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "CREATE TEMPORARY TABLE IF NOT EXISTS headwater_upsert "
                    "(LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                ).format(self._table)
            )
            names = sql.SQL(", ").join(columns)
            with cur.copy(sql.SQL("COPY headwater_upsert ({}) FROM STDIN").format(names)) as copy:
                for row in rows.iter_rows():
                    copy.write_row(row)
            cur.execute(
                sql.SQL(
                    "INSERT INTO {table} ({names}) SELECT {names} FROM headwater_upsert "
                    "ON CONFLICT ({key}) {conflict}"
                ).format(
                    table=self._table,
                    names=names,
                    key=sql.SQL(", ").join(sql.Identifier(k) for k in self._key),
                    conflict=conflict,
                )
            )
        return rows.height

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(self._dsn)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
