"""Unpacking an uploaded model folder (zip or tar) safely: no member lands outside the target,
no links, and no more bytes than the upload limit allows."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path
from typing import IO

from headwater.platform.errors import Invalid, TooLarge

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


def archive_stem(filename: str) -> str | None:
    """The name without its archive suffix, or None if ``filename`` is not an archive."""
    lower = filename.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lower.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)]
    return None


def unpack(archive: Path, target: Path, max_bytes: int) -> None:
    """Extract ``archive`` into ``target`` (created), refusing unsafe or oversized members."""
    target.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            _unzip(archive, target, max_bytes)
        else:
            _untar(archive, target, max_bytes)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise _bad(f"the archive cannot be read ({exc})") from None


def _unzip(archive: Path, target: Path, max_bytes: int) -> None:
    with zipfile.ZipFile(archive) as opened:
        members = [m for m in opened.infolist() if not m.is_dir()]
        _check_total(sum(m.file_size for m in members), max_bytes)
        for member in members:
            destination = _inside(target, member.filename)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with opened.open(member) as source, destination.open("wb") as out:
                _copy(source, out, max_bytes)


def _untar(archive: Path, target: Path, max_bytes: int) -> None:
    with tarfile.open(archive) as opened:
        members = opened.getmembers()
        for member in members:
            if not (member.isfile() or member.isdir()):
                raise _bad(f"{member.name} is a link or device; archive plain files and folders")
            _inside(target, member.name)
        _check_total(sum(m.size for m in members if m.isfile()), max_bytes)
        opened.extractall(target, filter="data")


def _inside(target: Path, name: str) -> Path:
    destination = (target / name).resolve()
    if not destination.is_relative_to(target.resolve()) or destination == target.resolve():
        raise _bad(f"the member {name!r} would land outside the model's folder")
    return destination


def _check_total(total: int, max_bytes: int) -> None:
    if total > max_bytes:
        raise TooLarge(
            f"the archive unpacks to {total} bytes, over the limit of {max_bytes}",
            [{"field": "file", "message": "unpacks to more than the upload limit"}],
        )


def _copy(source: IO[bytes], out: IO[bytes], max_bytes: int) -> None:
    # A zip's declared sizes may lie: count what really comes out.
    copied = 0
    while chunk := source.read(1 << 20):
        copied += len(chunk)
        _check_total(copied, max_bytes)
        out.write(chunk)


def _bad(reason: str) -> Invalid:
    message = f"file: {reason}; upload a .zip or .tar.gz of the model's folder"
    return Invalid(message, [{"field": "file", "message": message}])
