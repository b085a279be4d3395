"""The ```python blocks of every docs/*.md page run, in order, in one namespace per page.

A block whose first line is ``# needs: broker`` gets the test broker's address as the variable
``bootstrap`` (the session broker is started only for pages that have such a block).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
NEEDS_BROKER = "# needs: broker"


def python_blocks(page: Path) -> list[str]:
    return [m.group(1) for m in _BLOCK.finditer(page.read_text(encoding="utf-8"))]


PAGES = sorted(p for p in DOCS.glob("*.md") if python_blocks(p))


def test_the_block_finder_sees_fenced_python_only() -> None:
    text = "x\n```python\na = 1\n```\n```bash\nls\n```\n```python\n# needs: broker\nb = 2\n```\n"
    blocks = [m.group(1) for m in _BLOCK.finditer(text)]
    assert blocks == ["a = 1\n", "# needs: broker\nb = 2\n"]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_docs_examples_run(page: Path, request: pytest.FixtureRequest) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs.{page.stem}"}
    for number, block in enumerate(python_blocks(page), start=1):
        if block.lstrip().startswith(NEEDS_BROKER):
            namespace["bootstrap"] = request.getfixturevalue("bootstrap")
        code = compile(block, f"{page.name} (python block {number})", "exec")
        exec(code, namespace)
