#!/usr/bin/env bash
# Sets up, starts the services the tests use (PostgreSQL, Redis; the tests start Apache Kafka
# themselves), then runs every check: lint, format, types, the web app's checks and the whole
# test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh
.venv/bin/ruff check src tests benchmarks examples
.venv/bin/ruff format --check src tests benchmarks examples
.venv/bin/mypy
.venv/bin/lint-imports
bash scripts/web_types.sh --check
(cd web && npm run --silent typecheck && npm test --silent)
# Two workers, a test file each at a time: most tests wait on the broker, so the suite takes
# less than half as long; module fixtures stay in one process. The longest files start first
# (tests/suite_order.py), in the order given, so none ends the run alone. The slowest tests are
# listed at the end, and every file's time is written to test-artifacts/file-seconds.json.
.venv/bin/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=25 "$@"
