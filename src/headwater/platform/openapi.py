"""The API's OpenAPI document, as the server serves it at ``/openapi.json``.

``python -m headwater.platform.openapi`` prints it; ``scripts/web_types.sh`` turns it into the
web app's API types.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from headwater.platform.server import api_app


def document() -> dict[str, Any]:
    spec: dict[str, Any] = api_app().openapi()
    return spec


def main() -> None:
    json.dump(document(), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
