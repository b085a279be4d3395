"""History sources: DataFrames, files and PostgreSQL queries, in bounded chunks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import psycopg
import pytest
from service_helpers import POSTGRES_URL

from headwater.errors import ConfigError
from headwater.sources import FileSource, FrameSource, QuerySource, event_time_ms

START = datetime(2026, 12, 1, tzinfo=UTC)


def orders(n: int, offset: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": [f"o{offset + i}" for i in range(n)],
            "amount": [float(i % 97) for i in range(n)],
            "created_at": pl.datetime_range(
                START,
                START.replace(hour=0, minute=0) + pl.duration(seconds=n - 1),
                "1s",
                eager=True,
            ).slice(0, n),
        }
    )


def read_all(source: FrameSource | FileSource | QuerySource, most: int) -> pl.DataFrame:
    chunks = list(source.batches())
    assert all(0 < c.height <= most for c in chunks)
    return pl.concat(chunks, how="diagonal_relaxed")  # files of several formats: types differ


def test_a_dataframe_in_chunks_pandas_or_polars() -> None:
    frame = orders(2500)
    assert read_all(FrameSource(frame, time="created_at", chunk_rows=1000), 1000).equals(frame)
    from_pandas = read_all(FrameSource(frame.to_pandas(), time="created_at", chunk_rows=700), 700)
    assert from_pandas["order_id"].to_list() == frame["order_id"].to_list()
    with pytest.raises(ConfigError, match="no column 'ts'"):
        FrameSource(frame, time="ts")


def test_files_of_every_format_from_a_folder_or_a_glob(tmp_path: Path) -> None:
    (tmp_path / "2026-12-01").mkdir()
    (tmp_path / "2026-12-02").mkdir()
    orders(3000).write_parquet(tmp_path / "2026-12-01" / "a.parquet")
    orders(1200, 3000).write_csv(tmp_path / "2026-12-02" / "b.csv")
    orders(800, 4200).write_ndjson(tmp_path / "2026-12-02" / "c.jsonl")
    (tmp_path / "notes.txt").write_text("not data")

    everything = read_all(FileSource(tmp_path, time="created_at", chunk_rows=500), 500)
    assert everything.height == 5000
    assert everything["order_id"].to_list() == [f"o{i}" for i in range(5000)]
    times = event_time_ms(everything, "created_at", "files")
    assert times[0] == int(START.timestamp() * 1000)

    csv_only = FileSource(str(tmp_path / "*" / "*.csv"), time="created_at", chunk_rows=10_000)
    assert [f.name for f in csv_only.files] == ["b.csv"]
    assert read_all(csv_only, 10_000).height == 1200


def test_bad_file_arguments_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no file matches"):
        FileSource(tmp_path / "*.parquet", time="t")
    (tmp_path / "x.dat").write_text("1")
    with pytest.raises(ConfigError, match='format="csv"'):
        FileSource(tmp_path / "x.dat", time="t")
    with pytest.raises(ConfigError, match="chunk_rows"):
        FileSource(tmp_path / "x.dat", time="t", format="csv", chunk_rows=0)


def test_event_times_from_datetimes_dates_text_and_milliseconds() -> None:
    frame = pl.DataFrame(
        {
            "dt": [START],
            "d": [date(2026, 12, 1)],
            "text": ["2026-12-01T00:00:00Z"],
            "ms": [1_796_083_200_000],
            "bad": [1.5],
        }
    )
    expected = int(START.timestamp() * 1000)
    for column in ("dt", "d", "text"):
        assert event_time_ms(frame, column, "test").to_list() == [expected]
    assert event_time_ms(frame, "ms", "test").to_list() == [1_796_083_200_000]
    with pytest.raises(ConfigError, match="'bad' holds Float64"):
        event_time_ms(frame, "bad", "test")
    with pytest.raises(ConfigError, match="no event-time column 'when'"):
        event_time_ms(frame, "when", "test")


@pytest.fixture
def orders_table() -> Iterator[str]:
    table = f"orders_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        db.execute(f"CREATE TABLE {table} (order_id text, amount float8, created_at timestamptz)")
        with db.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
            for row in orders(2500).iter_rows():
                copy.write_row(row)
        try:
            yield table
        finally:
            db.execute(f"DROP TABLE {table}")


def test_a_postgresql_query_streams_through_a_cursor(orders_table: str) -> None:
    source = QuerySource(
        POSTGRES_URL,
        f"SELECT * FROM {orders_table} WHERE amount >= %s ORDER BY created_at",
        time="created_at",
        params=(10,),
        chunk_rows=600,
    )
    rows = read_all(source, 600)
    assert rows.height == orders(2500).filter(pl.col("amount") >= 10).height
    assert rows.columns == ["order_id", "amount", "created_at"]
    assert (
        event_time_ms(rows, "created_at", source.name)[0] == int(START.timestamp() * 1000) + 10_000
    )
    with pytest.raises(ConfigError, match="query"):
        QuerySource(POSTGRES_URL, " ", time="created_at")
