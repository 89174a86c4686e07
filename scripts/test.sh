#!/usr/bin/env bash
# Sets up a virtualenv with the test tools and runs every test: lint, types, the Python suite
# (unit, rule fixtures, CLI, LSP end to end, agent against a local Messages API, headless Neovim)
# and the VS Code extension's unit tests and build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# This machine's pip config names extra local indexes; their "ignored" warnings are noise.
quiet_pip() { .venv/bin/python -m pip "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }
quiet_pip install -q --upgrade pip >/dev/null
quiet_pip install -q -e '.[test]'
echo "== ruff"; .venv/bin/ruff check server tests benchmarks scripts
echo "== mypy"; .venv/bin/mypy
echo "== pytest"
PATH="$PWD/.venv/bin:$PATH" .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
if [ -f vscode-client/package.json ] && command -v npm >/dev/null; then
  echo "== vscode-client: npm ci, typecheck, lint, unit tests, package"
  (cd vscode-client && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run package)
fi
