"""A PostgreSQL query as a source, read through a server-side cursor in chunks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import polars as pl
import psycopg

from headwater.errors import ConfigError


class QuerySource:
    """The rows of ``query`` (with ``params``), fetched ``chunk_rows`` at a time from a
    server-side cursor, so a table of any size streams with bounded memory."""

    def __init__(
        self,
        dsn: str,
        query: str,
        time: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        chunk_rows: int = 100_000,
    ) -> None:
        if not isinstance(query, str) or not query.strip():
            raise ConfigError("QuerySource: query must be the SQL text of a SELECT")
        if not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ConfigError("QuerySource: chunk_rows must be a whole number >= 1")
        self._dsn = dsn
        self._query = query
        self._params = params
        self.time_column = time
        self.name = "PostgreSQL query"
        self._chunk = chunk_rows

    def batches(self) -> Iterator[pl.DataFrame]:
        with psycopg.connect(self._dsn) as connection:
            cursor_name = f"headwater_history_{uuid.uuid4().hex[:8]}"
            with connection.cursor(name=cursor_name) as cursor:
                cursor.itersize = self._chunk
                cursor.execute(self._query, self._params)
                columns: list[str] | None = None
                while rows := cursor.fetchmany(self._chunk):
                    if columns is None:
                        columns = [d.name for d in cursor.description or []]
                    yield pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
