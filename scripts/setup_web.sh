#!/usr/bin/env bash
# Installs the web app's npm packages and builds it into the Python package, each only when
# needed. Called by setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null; then
  echo "setup: npm is missing; install Node.js 20 or newer with npm, then run this again" >&2
  exit 1
fi

# npm ci again only when the lock file changed since the last install.
lock_sum="$(sha256sum web/package-lock.json | cut -d' ' -f1)"
stamp=web/node_modules/.headwater-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" > "$stamp"
fi

# Build when the build is missing or any source is newer than it.
built=src/headwater/platform/webapp/index.html
if [ ! -f "$built" ] || [ -n "$(find web/src web/index.html web/package-lock.json \
    web/vite.config.ts web/tsconfig.json -newer "$built" -print -quit)" ]; then
  (cd web && npm run --silent build)
fi

