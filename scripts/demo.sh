#!/usr/bin/env bash
# Sets up .venv and runs the end-to-end demo. Extra arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
SKKERAS_EXTRAS="cpu,cli,tuning"
source scripts/_venv.sh
ensure_venv
exec .venv/bin/skkeras demo "$@"
