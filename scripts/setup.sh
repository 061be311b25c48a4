#!/usr/bin/env bash
# Installs what nbferry's commands need on a fresh clone: node modules (npm ci) and a Python
# venv in .venv with ipykernel and the demo's libraries. Idempotent: a second run takes a moment.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

lock_hash=$(sha256sum package-lock.json | cut -c1-16)
if [ ! -f node_modules/.nbferry-lock ] || [ "$(cat node_modules/.nbferry-lock)" != "$lock_hash" ]; then
  echo "setup: installing node modules (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_hash" > node_modules/.nbferry-lock
fi

python=${NBFERRY_BOOTSTRAP_PYTHON:-python3}
venv="$root/.venv"
req="$root/python-shim/requirements-dev.txt"
req_hash=$(sha256sum "$req" | cut -c1-16)
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.nbferry-req" ] || [ "$(cat "$venv/.nbferry-req")" != "$req_hash" ]; then
  echo "setup: creating the Python environment in .venv (pip install -r $req)" >&2
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$req_hash" > "$venv/.nbferry-req"
fi
