"""Loads one uploaded model in the sandbox and reports what it is, as JSON on stdout.

Run by ``inspect.py`` as ``python -m headwater.platform.registry.child``: loading a model may
run code from its file (a pickle), so it never happens in the server's own process.
"""

from __future__ import annotations

import json
import sys
from typing import Any

MARKER = "headwater-model-inspection:"


def inspect(request: dict[str, Any]) -> dict[str, Any]:
    from headwater.errors import ConfigError
    from headwater.models import load_model

    try:
        model = load_model(
            request["path"], framework=request.get("framework"), features=request.get("features")
        )
    except ConfigError as exc:
        return {"error": str(exc), "kind": "config"}
    except Exception as exc:  # whatever the file does while loading is its problem, reported
        return {"error": f"{type(exc).__name__}: {exc}", "kind": "load"}
    return {
        "framework": model.framework,
        "features": [{"name": f.name, "kind": f.kind} for f in model.features],
        "classifier": model.classifier,
    }


def main() -> None:
    request = json.loads(sys.stdin.read())
    # On its own line after anything the model printed while loading.
    print(MARKER + json.dumps(inspect(request)), flush=True)


if __name__ == "__main__":
    main()
