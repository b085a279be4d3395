"""Finding the App in a Python file, as ``headwater run`` and the platform's preview do."""

from __future__ import annotations

import ast
import runpy
import sys
from pathlib import Path
from typing import Any

from headwater.app import App
from headwater.errors import ConfigError


def load_app(path: Path, run_name: str = "__headwater_app__") -> App:
    """Run the file ``path`` (its directory importable, as with ``python path``) and return
    the App it defines at module level; see :func:`find_app`."""
    sys.path.insert(0, str(path.resolve().parent))  # sibling modules import as with `python`
    namespace = runpy.run_path(str(path), run_name=run_name)
    return find_app(namespace, path)


def find_app(namespace: dict[str, Any], path: Path) -> App:
    """The App named ``app`` in ``namespace``, or its only App."""
    app = namespace.get("app")
    if isinstance(app, App):
        return app
    apps = [v for v in namespace.values() if isinstance(v, App)]
    if len(apps) == 1:
        return apps[0]
    raise ConfigError(
        f"{path} defines {'several Apps' if apps else 'no App'} at module level: name the one "
        'to run `app`, or add `if __name__ == "__main__": app.run()`'
    )


def has_main_block(source: str) -> bool:
    """Whether the module runs itself (``if __name__ == "__main__":``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True  # running it reports the syntax error with its line
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
            parts = [node.test.left, *node.test.comparators]
            names = {p.id for p in parts if isinstance(p, ast.Name)}
            values = {p.value for p in parts if isinstance(p, ast.Constant)}
            if names == {"__name__"} and values == {"__main__"}:
                return True
    return False
