#!/usr/bin/env bash
# Sets up a virtualenv and runs the main job: analysis of examples/ and an offline answer.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv "."
echo "== ml-engineer check examples/"
.venv/bin/ml-engineer check examples/ || true
echo
echo "== ml-engineer ask (offline backend: no API key needed)"
.venv/bin/ml-engineer ask examples/train_classifier.py:60-75 "Why is my training loss not going down?" --backend offline
