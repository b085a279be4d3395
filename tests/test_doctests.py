"""The ``>>>`` examples in the package's docstrings run, so they cannot drift from the code."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import headwater

# User code copied into new projects and migration scripts are not modules of the package.
SKIPPED = ("headwater.platform.projects.templates", "headwater.platform.migrations")


def modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(headwater.__path__, "headwater."):
        if info.name.startswith(SKIPPED):
            continue
        spec = importlib.util.find_spec(info.name)
        origin = spec.origin if spec is not None else None
        if origin and origin.endswith(".py") and ">>>" in Path(origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return names


MODULES = modules_with_examples()


def test_the_examples_are_found() -> None:
    assert len(MODULES) >= 10, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
