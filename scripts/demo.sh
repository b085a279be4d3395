#!/usr/bin/env bash
# Sets up, then runs the local demo: broker, synthetic order events, a live pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/headwater demo "$@"
