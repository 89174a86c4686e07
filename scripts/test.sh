#!/usr/bin/env bash
# Sets up a virtualenv with the test tools and runs every test: lint, types, the Python suite
# (unit, rule fixtures, CLI, LSP end to end, agent against a local Messages API, headless Neovim)
# and the VS Code extension's unit tests and build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv ".[test]"
echo "== ruff"; .venv/bin/ruff check server tests benchmarks scripts
echo "== mypy"; .venv/bin/mypy
echo "== pytest"
PATH="$PWD/.venv/bin:$PATH" .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
if [ -f vscode-client/package.json ] && command -v npm >/dev/null; then
  echo "== vscode-client: npm ci, typecheck, lint, unit tests, package"
  (cd vscode-client && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run package)
fi
