#!/usr/bin/env bash
# The main job, on a fresh clone: install what is needed, generate the demo notebook's synthetic
# data, then migrate it: run it in a recorded kernel, checkpoint, restore in a fresh kernel, verify.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
notebook=${1:-benchmarks/notebooks/titanic_features_cv.ipynb}
PYTHONPATH=benchmarks/notebooks .venv/bin/python -m datagen all --size small >/dev/null
exec npx --no-install tsx --conditions=source packages/cli/src/main.ts migrate "$notebook" --python .venv/bin/python
