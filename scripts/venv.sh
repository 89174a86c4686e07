# Sourced by demo.sh and test.sh: create .venv if needed and install the package into it.
#   ensure_venv [PIP_TARGET]   (default ".", e.g. ".[test]")
ensure_venv() {
  local target="${1:-.}"
  if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
  fi
  # This machine's pip config names extra local indexes; their "ignored" warnings are noise.
  quiet_pip() { .venv/bin/python -m pip "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }
  quiet_pip install -q --upgrade pip >/dev/null
  quiet_pip install -q -e "$target"
}
