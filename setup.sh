#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs the pinned dependencies of requirements.lock.
# Safe to rerun: an up-to-date environment is left as it is.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || { echo "setup.sh: $PY not found (Python 3.11 is required)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.lock.sha256
want=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-input -r requirements.lock
  echo "$want" > "$stamp"
fi
