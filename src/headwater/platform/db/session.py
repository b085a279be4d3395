"""The engine and sessions of the metadata database."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from headwater.errors import ConfigError

NUL_MESSAGE = "text fields cannot contain NUL (0x00) bytes"


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy's default driver is psycopg2)."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(
            f"database URL {url!r} is not valid; use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DATABASE"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"database URL {url!r}: only SQLite and PostgreSQL are supported; use sqlite:///PATH "
            "or postgresql://USER@HOST:PORT/DATABASE"
        )
    return parsed.render_as_string(hide_password=False)


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine: Engine = create_engine(self.url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "before_cursor_execute", _refuse_nul)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed when the block ends without error, rolled back otherwise."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # for ON DELETE CASCADE
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.close()


def _refuse_nul(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
) -> None:
    """Refuse text with NUL characters as PostgreSQL does, so both backends take the same data
    (the API answers a 422: see api/errors.py)."""
    for row in parameters if many else [parameters]:
        # A row is a mapping or a sequence; a batched insert of many rows (``add_all``) may
        # come as one flat sequence of values.
        values: Iterable[Any] = (
            row.values()
            if isinstance(row, dict)
            else row
            if isinstance(row, list | tuple)
            else (row,)
        )
        if any(isinstance(value, str) and "\x00" in value for value in values):
            raise DataError(statement, parameters, ValueError(NUL_MESSAGE))
