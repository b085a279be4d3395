"""Finding the App in a file, as ``headwater run`` and the platform's preview do."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from headwater import App
from headwater.errors import ConfigError
from headwater.loader import find_app, has_main_block, load_app


def test_the_app_named_app_wins_then_the_only_one() -> None:
    a, b = App("a"), App("b")
    assert find_app({"app": b, "other": a}, Path("x.py")) is b
    assert find_app({"mine": a, "n": 1}, Path("x.py")) is a


@pytest.mark.parametrize("namespace", [{}, {"x": App("x"), "y": App("y")}])
def test_no_app_or_several_is_explained(namespace: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"x\.py defines (no App|several Apps)"):
        find_app(namespace, Path("x.py"))


def test_a_file_is_run_with_its_siblings_importable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # the loader adds the file's directory
    (tmp_path / "loader_sibling.py").write_text('NAME = "loaded-app"\n')
    entry = tmp_path / "pipeline.py"
    entry.write_text(
        "from headwater import App\nfrom loader_sibling import NAME\napp = App(NAME)\n"
    )
    try:
        assert load_app(entry).name == "loaded-app"
    finally:
        sys.modules.pop("loader_sibling", None)


def test_a_main_block_is_recognised() -> None:
    assert has_main_block('app = 1\nif __name__ == "__main__":\n    app.run()\n')
    assert not has_main_block("app = 1\n")
    assert has_main_block("def broken(:\n")  # running it reports the syntax error
