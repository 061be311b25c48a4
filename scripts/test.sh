#!/usr/bin/env bash
# Runs every test: type-check, vitest (unit + real-kernel integration), pytest for the shim.
# Ends with one plain line "N passed, N failed" summing all suites.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

export NBFERRY_PYTHON="$root/.venv/bin/python"
results="$root/test-results"
mkdir -p "$results"
status=0

echo "== type-check"
if npx tsc -p tsconfig.check.json; then tsc_failed=0; else tsc_failed=1; status=1; fi

echo "== vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest.json" || status=1

echo "== pytest (python-shim)"
(cd python-shim && "$NBFERRY_PYTHON" -m pytest -q --junitxml="$results/pytest.xml") || status=1

# A run of its own: both test directories have a conftest.py, which one pytest run imports as one module.
echo "== pytest (the JupyterLab server extension)"
(cd packages/jupyterlab && "$NBFERRY_PYTHON" -m pytest -q tests --junitxml="$results/pytest-jupyterlab.xml") || status=1

node scripts/summarize-tests.mjs "$results/vitest.json" "$results/pytest.xml" "$tsc_failed" "$results/pytest-jupyterlab.xml" || status=1
exit $status
