"""Files as a source: CSV, JSON lines and Parquet; one file, a folder or a glob; in chunks."""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import polars as pl

from headwater.errors import ConfigError

Format = Literal["csv", "json", "parquet"]
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SCANS: dict[Format, Callable[[Path], pl.LazyFrame]] = {
    "csv": lambda p: pl.scan_csv(p, try_parse_dates=True),
    "json": pl.scan_ndjson,
    "parquet": pl.scan_parquet,
}


class FileSource:
    """Every matching file in name order, each streamed ``chunk_rows`` rows at a time.

    ``path`` is a file, a folder (its files with a known suffix, recursively) or a glob
    (``data/2026-*/*.parquet``). The format comes from the suffix unless ``format`` names it.
    """

    def __init__(
        self,
        path: str | Path,
        time: str,
        format: Format | None = None,
        chunk_rows: int = 100_000,
    ) -> None:
        if format is not None and format not in _SCANS:
            raise ConfigError(
                f"FileSource: format must be one of csv, json, parquet, not {format!r}"
            )
        if not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ConfigError("FileSource: chunk_rows must be a whole number >= 1")
        self.files = _matching(Path(path))
        if not self.files:
            raise ConfigError(f"FileSource: no file matches {str(path)!r}")
        self._formats = [format or _format_of(f) for f in self.files]
        self.name = f"files {path}"
        self.time_column = time
        self._chunk = chunk_rows

    def batches(self) -> Iterator[pl.DataFrame]:
        for file, kind in zip(self.files, self._formats, strict=True):
            for chunk in _SCANS[kind](file).collect_batches(chunk_size=self._chunk, lazy=True):
                # The streaming engine may hand over smaller pieces; never larger ones.
                for start in range(0, chunk.height, self._chunk):
                    yield chunk.slice(start, self._chunk)


def _matching(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
    return sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())


def _format_of(file: Path) -> Format:
    kind = _SUFFIXES.get(file.suffix.lower())
    if kind is None:
        raise ConfigError(
            f"FileSource: cannot tell the format of {file.name} from its suffix; pass "
            'format="csv", "json" or "parquet"'
        )
    return kind
