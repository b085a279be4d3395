"""Sources beyond Kafka, for runs over history: DataFrames, files and PostgreSQL queries.

Each source yields its records as Polars frames of at most ``chunk_rows`` rows, so memory stays
bounded whatever the size of the input, and names the column that holds each record's event
time; :func:`event_time_ms` turns that column into the milliseconds since the epoch that event
time runs on.
"""

from headwater.sources.base import HistorySource, event_time_ms
from headwater.sources.files import FileSource
from headwater.sources.frames import FrameSource
from headwater.sources.postgres import QuerySource

__all__ = ["FileSource", "FrameSource", "HistorySource", "QuerySource", "event_time_ms"]
