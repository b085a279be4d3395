"""File paths inside a project: relative, POSIX, never escaping the project or touching .git.

Every path that reaches the disk goes through ``check_path``: the file API's, and every name of
a Git tree (a push, an export for a deployment or a preview), so a tree cannot write outside the
folder it is exported to.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from headwater.platform.errors import Invalid

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
MAX_PATH = 255
# Characters that reorder or hide text: a name holding one can read as another ("Trojan Source").
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def check_path(path: str) -> str:
    """``path`` normalised (no leading ``./``), or Invalid naming what is wrong with it."""
    problem = path_problem(path)
    if problem:
        raise Invalid(f"file path {path!r} {problem}", [{"field": "path", "message": problem}])
    return "/".join(part for part in path.split("/") if part not in ("", "."))


def path_problem(path: str) -> str | None:
    """What is wrong with ``path`` as a file of a project, or None."""
    if not path or not path.strip("/. "):
        return "is empty; give a path relative to the project root, e.g. app.py"
    if len(path) > MAX_PATH:
        return f"is longer than {MAX_PATH} characters"
    if "\\" in path or any(unicodedata.category(c) == "Cc" for c in path):
        return "contains a backslash or a control character; use / between folders"
    if any(c in BIDI_CONTROLS for c in path):
        return "contains a bidirectional control character, which makes names read differently"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in path):
        return "is not valid UTF-8; name files in UTF-8"
    if path.startswith("/"):
        return "is absolute; give a path relative to the project root, e.g. src/app.py"
    parts = path.split("/")
    if ".." in parts:
        return "contains '..'; paths must stay inside the project"
    if any(part.rstrip(". ").lower() == ".git" for part in parts):
        return "is inside .git, which the platform manages"
    return None


def tree_name_problem(name: bytes) -> str | None:
    """What is wrong with one entry name of a Git tree, or None: a name is one path part, so
    ``.``, ``..``, ``/`` and the empty name are refused as well as what ``check_path`` refuses."""
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        return "is not valid UTF-8; name files in UTF-8"
    if text in ("", ".", "..") or "/" in text or "\x00" in text:
        return "is not a file name ('', '.', '..' or a name holding '/' or NUL)"
    return path_problem(text)


def inside(folder: Path, path: str) -> Path:
    """Where ``path`` of a project lives under ``folder``; Invalid if it would leave it."""
    target = folder / check_path(path)
    if not target.resolve().is_relative_to(folder.resolve()):
        message = "leaves the folder it is written to (through a symbolic link)"
        raise Invalid(f"file path {path!r} {message}", [{"field": "path", "message": message}])
    return target


def check_project_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise Invalid(
            f"project name {name!r} is invalid: use 1-63 lowercase letters, digits and '-', "
            "starting with a letter, e.g. fraud-features",
            [{"field": "name", "message": "lowercase letters, digits and '-', starting a letter"}],
        )
    return name
