#!/usr/bin/env bash
# Sets up, then runs the whole platform locally: a broker, the server and a live demo project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/headwater up "$@"
