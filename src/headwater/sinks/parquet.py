"""Parquet files: partitioned by columns, rolled by size, each written atomically."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import polars as pl

from headwater.errors import ConfigError

Compression = Literal["lz4", "uncompressed", "snappy", "gzip", "brotli", "zstd"]
_SAFE = re.compile(r"[^A-Za-z0-9._=-]")


class ParquetSink:
    """Rows buffered per partition and written at each :meth:`commit` (the app's checkpoint).

    Files land in ``folder/col=value/.../<batch id>-<n>.parquet`` (Hive style, so Polars,
    pandas, DuckDB and Spark read the partitions back as columns). A file holds at most about
    ``max_file_bytes`` of data in memory terms; more rows roll over to the next file. Each
    file is written under a temporary name and renamed into place, so a reader never sees half
    a file, and a replay of the same batch id replaces its files with the same rows.
    """

    def __init__(
        self,
        folder: str | Path,
        partition_by: Sequence[str] = (),
        max_file_bytes: int = 128 * 1024 * 1024,
        compression: Compression = "zstd",
    ) -> None:
        if isinstance(partition_by, str):
            partition_by = [partition_by]
        if not isinstance(max_file_bytes, int) or max_file_bytes < 1:
            raise ConfigError("ParquetSink: max_file_bytes must be a whole number of bytes >= 1")
        self.folder = Path(folder)
        self.partition_by = list(partition_by)
        self.max_file_bytes = max_file_bytes
        self.compression = compression
        self._pending: list[pl.DataFrame] = []

    def write(self, frame: pl.DataFrame) -> None:
        """Buffer ``frame`` until the next commit."""
        missing = [c for c in self.partition_by if c not in frame.columns]
        if missing:
            raise ConfigError(
                f"ParquetSink: partition column(s) {missing} are not in the records "
                f"(columns: {frame.columns})"
            )
        if frame.height:
            self._pending.append(frame)

    def commit(self, batch_id: str) -> list[Path]:
        """Write what was buffered as the files of ``batch_id`` (the input range it came from,
        so a replay reuses it); returns the files written."""
        if not self._pending:
            return []
        frame = pl.concat(self._pending, how="diagonal_relaxed")
        self._pending = []
        tag = _SAFE.sub("_", batch_id)
        written: list[Path] = []
        groups = (
            frame.partition_by(self.partition_by, as_dict=True, maintain_order=True)
            if self.partition_by
            else {(): frame}
        )
        for values, rows in groups.items():
            folder = self.folder.joinpath(
                *(
                    f"{c}={_SAFE.sub('_', str(v))}"
                    for c, v in zip(self.partition_by, values, strict=True)
                )
            )
            folder.mkdir(parents=True, exist_ok=True)
            data = rows.drop(self.partition_by)
            per_file = max(
                1, int(data.height * self.max_file_bytes / max(data.estimated_size(), 1))
            )
            for n, start in enumerate(range(0, data.height, per_file)):
                target = folder / f"{tag}-{n:05d}.parquet"
                temporary = folder / f".{target.name}.{uuid.uuid4().hex}.tmp"
                data.slice(start, per_file).write_parquet(temporary, compression=self.compression)
                os.replace(temporary, target)
                written.append(target)
        # A replay of this batch id may roll over into fewer files than the first attempt did,
        # and an attempt killed mid-write leaves its temporary file behind.
        stale = set(self.folder.rglob(f"{tag}-*.parquet")) - set(written)
        for leftover in stale | set(self.folder.rglob(f".{tag}-*.tmp")):
            leftover.unlink(missing_ok=True)
        return written

    def read(self) -> pl.DataFrame:
        """Everything written so far, partition columns included."""
        return pl.read_parquet(self.folder / "**/*.parquet", hive_partitioning=True)
