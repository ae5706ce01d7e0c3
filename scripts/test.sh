#!/usr/bin/env bash
# Sets up .venv with the test extras and runs the whole test suite (lint included).
# The PostgreSQL tests start their own throwaway server; this installs Debian's server
# binaries when they are missing and we are allowed to (root with apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."

have_postgres() {
  command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
if ! have_postgres; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's postgresql package for the distributed-tuning tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "warning: PostgreSQL server binaries not found; install Debian's 'postgresql' package." >&2
  fi
fi

SKKERAS_EXTRAS="test,backends"
source scripts/_venv.sh
ensure_venv

.venv/bin/ruff check .
exec .venv/bin/python -m pytest -n 2 -q "$@"
