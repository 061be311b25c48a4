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

# The JupyterLab extension (packages/jupyterlab): the prebuilt labextension and the wheel holding both
# halves (pip install packages/jupyterlab/dist/nbferry_jupyterlab-*.whl), rebuilt when their sources
# change. The browser tests (test/lab) load the labextension from its build directory.
lab="$root/packages/jupyterlab"
if [ -f "$lab/pyproject.toml" ] && grep -q '"build:labextension"' "$lab/package.json" 2>/dev/null; then
  lab_hash=$(cd "$lab" && find package.json tsconfig.json pyproject.toml install.json src style schema nbferry_jupyterlab jupyter-config \
    -type f -not -path '*/labextension/*' -not -name '*.pyc' -not -path '*/__pycache__/*' 2>/dev/null | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
  stamp="$lab/dist/.nbferry-build"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lab_hash" ] || [ ! -f "$lab/nbferry_jupyterlab/labextension/package.json" ]; then
    echo "setup: building the JupyterLab extension (labextension, then the wheel)" >&2
    PATH="$venv/bin:$PATH" npm run --silent build:labextension -w @nbferry/jupyterlab >&2
    rm -rf "$lab/dist" && mkdir -p "$lab/dist"
    # Build isolation fetches hatchling; offline, install hatchling and add --no-build-isolation.
    "$venv/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$lab/dist" "$lab" >&2
    echo "$lab_hash" > "$stamp"
  fi
fi

# Debian's chromium for the browser tests (playwright-core drives it; browser downloads are not used).
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ] && [ -z "${NBFERRY_CHROMIUM:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium (apt-get) for the browser tests" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  else
    echo "setup: no chromium: the browser tests (test/lab) need it (apt-get install chromium, or set NBFERRY_CHROMIUM)" >&2
  fi
fi
