#!/usr/bin/env bash
# Installs (from Debian's packages, only where missing) and starts (only where stopped) the
# services the test suite needs: PostgreSQL with the tests' role and database, Redis, Chromium
# for the browser tests, and Apache Kafka's jars through Maven (the tests start the broker
# themselves). Safe to run again; called by test.sh after setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ROLE=headwater
PG_PASSWORD=headwater
PG_DATABASE=headwater_test
REDIS_PORT=6379

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo "$@"
  else
    echo "services: this step needs root: $*" >&2
    echo "services: run it once as root (or give this user sudo), then run this again" >&2
    exit 1
  fi
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >/dev/null
}

wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds, or fail
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "services: gave up waiting for: $*" >&2
      return 1
    fi
    sleep 0.2
  done
}

postgres() {
  if ! command -v pg_lsclusters >/dev/null || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    apt_install postgresql
  fi
  local version name
  read -r version name _ < <(pg_lsclusters -h | head -n 1)
  if ! pg_lsclusters -h | head -n 1 | grep -q online; then
    as_root pg_ctlcluster "$version" "$name" start
  fi
  wait_for 30 pg_isready -q -h 127.0.0.1
  local psql=(as_root su postgres -c)
  if [ "$("${psql[@]}" "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'\"")" != 1 ]
  then
    "${psql[@]}" "psql -q -c \"CREATE ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$PG_PASSWORD'\""
  fi
  if [ "$("${psql[@]}" "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'\"")" \
      != 1 ]; then
    "${psql[@]}" "createdb -O $PG_ROLE $PG_DATABASE"
  fi
}

redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    # No init system here: start it as a daemon on loopback, without persistence.
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" \
      --appendonly no --logfile "" --dir "${TMPDIR:-/tmp}"
  fi
  wait_for 30 redis-cli -p "$REDIS_PORT" ping
}

chromium() {
  # Browser tests drive Debian's Chromium, never a browser download.
  [ -x /usr/bin/chromium ] || apt_install chromium
}

kafka() {
  if ! command -v java >/dev/null; then apt_install openjdk-17-jre-headless; fi
  if ! command -v mvn >/dev/null; then apt_install maven; fi
  .venv/bin/python -c "from headwater.kafka.apache_kafka import install_libs; install_libs()"
}

mkdir -p test-artifacts
postgres
redis
chromium
kafka
