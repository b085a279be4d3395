"""File paths inside a project: relative, POSIX, never escaping the project or touching .git."""

from __future__ import annotations

import re

from headwater.platform.errors import Invalid

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
MAX_PATH = 255


def check_path(path: str) -> str:
    """``path`` normalised (no leading ``./``), or Invalid naming what is wrong with it."""
    problem = _problem(path)
    if problem:
        raise Invalid(f"file path {path!r} {problem}", [{"field": "path", "message": problem}])
    return "/".join(part for part in path.split("/") if part not in ("", "."))


def _problem(path: str) -> str | None:
    if not path or not path.strip("/. "):
        return "is empty; give a path relative to the project root, e.g. app.py"
    if len(path) > MAX_PATH:
        return f"is longer than {MAX_PATH} characters"
    if "\\" in path or "\x00" in path or any(ord(c) < 32 for c in path):
        return "contains a backslash or a control character; use / between folders"
    if path.startswith("/"):
        return "is absolute; give a path relative to the project root, e.g. src/app.py"
    parts = path.split("/")
    if ".." in parts:
        return "contains '..'; paths must stay inside the project"
    if any(part.lower() == ".git" for part in parts):
        return "is inside .git, which the platform manages"
    return None


def check_project_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise Invalid(
            f"project name {name!r} is invalid: use 1-63 lowercase letters, digits and '-', "
            "starting with a letter, e.g. fraud-features",
            [{"field": "name", "message": "lowercase letters, digits and '-', starting a letter"}],
        )
    return name
