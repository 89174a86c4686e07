#!/usr/bin/env bash
# Sets up a virtualenv and runs the main job: analysis of examples/ and an offline answer.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# This machine's pip config names extra local indexes; their "ignored" warnings are noise.
quiet_pip() { .venv/bin/python -m pip "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }
quiet_pip install -q --upgrade pip >/dev/null
quiet_pip install -q -e .
echo "== ml-engineer check examples/"
.venv/bin/ml-engineer check examples/ || true
echo
echo "== ml-engineer ask (offline backend: no API key needed)"
.venv/bin/ml-engineer ask examples/train_classifier.py:60-75 "Why is my training loss not going down?" --backend offline
