# Shared by scripts/demo.sh and scripts/test.sh: create .venv with Python >= 3.11 and install
# skkeras with the extras named in $SKKERAS_EXTRAS.
set -euo pipefail

find_python() {
  for candidate in ${PYTHON:-} python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "skkeras needs Python 3.11 or newer; none was found on PATH (set PYTHON=...)." >&2
  return 1
}

ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    "$(find_python)" -m venv .venv
  fi
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[${SKKERAS_EXTRAS}]"
}
