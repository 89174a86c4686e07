#!/usr/bin/env bash
# End-to-end test of the VS Code extension in a real VS Code (code-server in headless Chromium):
# installs the tools if missing, builds the .vsix, starts code-server with it and this
# repository's language server, and drives it with Playwright (tests/vscode/e2e.cjs).
# Screenshots go to test-artifacts/vscode/. Exit code 0 = every step passed.
#   VSCODE_E2E_TOOLS   where the tools live (default ~/.cache/ml-engineer-vscode-e2e)
#   ML_ENGINEER_PYTHON interpreter to run the server with (default: .venv, python3)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
START=$(date +%s)
log() { echo "[vscode-e2e] $*"; }

TOOLS_DIR="$(bash "$REPO/scripts/setup-vscode-e2e.sh" | tail -n 1)"
NODE_BIN="$(ls -d "$TOOLS_DIR"/node-*/bin | tail -n 1)"
CODE_SERVER="$(ls -d "$TOOLS_DIR"/code-server-*/node_modules/.bin/code-server | tail -n 1)"
PLAYWRIGHT_DIR="$(ls -d "$TOOLS_DIR"/playwright-core-*/node_modules/playwright-core | tail -n 1)"
export PATH="$NODE_BIN:$PATH"

PYTHON="${ML_ENGINEER_PYTHON:-}"
for candidate in "$REPO/.venv/bin/python" "$(command -v python3 || true)"; do
  if [[ -z "$PYTHON" && -n "$candidate" && -x "$candidate" ]]; then PYTHON="$candidate"; fi
done
# Run the server from this checkout, whatever the interpreter has installed.
export PYTHONPATH="$REPO/server${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PYTHON" -c 'import ml_engineer' 2>/dev/null; then
  log "FAIL: $PYTHON cannot import ml_engineer (install the package's dependencies: pip install -e '.[test]')"
  exit 1
fi
log "server: $PYTHON -m ml_engineer serve"

log "building the .vsix"
(
  cd "$REPO/vscode-client"
  [[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error
  npm run --silent package >/dev/null
)
VSIX="$(ls -t "$REPO"/vscode-client/ml-engineer-*.vsix | head -n 1)"
log "vsix: $(basename "$VSIX") ($(du -k "$VSIX" | cut -f1) KiB)"

RUN_DIR="$(mktemp -d /tmp/ml-engineer-vscode-e2e.XXXXXX)"
ARTIFACTS="$REPO/test-artifacts/vscode"
rm -rf "$ARTIFACTS" && mkdir -p "$ARTIFACTS"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    # code-server runs in its own process group (setsid): end it with its extension host,
    # file watcher and language server, and wait until they are gone.
    kill -- "-$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 20); do
      pgrep -g "$SERVER_PID" >/dev/null 2>&1 || break
      sleep 0.5
    done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  cp "$RUN_DIR/code-server.log" "$ARTIFACTS/" 2>/dev/null || true
  find "$RUN_DIR/user-data/logs" -name '*ML Engineer*' -exec cp {} "$ARTIFACTS/server-output.log" \; 2>/dev/null || true
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT

# An isolated home for code-server: it writes under ~/.config and ~/.local otherwise.
export XDG_CONFIG_HOME="$RUN_DIR/config" XDG_DATA_HOME="$RUN_DIR/data" XDG_CACHE_HOME="$RUN_DIR/cache"
WORKSPACE="$RUN_DIR/ws"
mkdir -p "$WORKSPACE" "$RUN_DIR/user-data/User" "$RUN_DIR/extensions"
cp "$REPO/examples/train_classifier.py" "$WORKSPACE/train.py"
cat > "$RUN_DIR/user-data/User/settings.json" <<JSON
{
  "mlEngineer.server.path": "$PYTHON",
  "mlEngineer.agent.backend": "offline",
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.welcomePage.walkthroughs.openOnInstall": false,
  "security.workspace.trust.enabled": false,
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "telemetry.telemetryLevel": "off",
  "editor.hover.delay": 200,
  "editor.minimap.enabled": false,
  "chat.disableAIFeatures": true,
  "window.commandCenter": false,
  "workbench.secondarySideBar.defaultVisibility": "hidden"
}
JSON
printf 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n' > "$RUN_DIR/config.yaml"

log "installing the .vsix into code-server"
"$CODE_SERVER" --config "$RUN_DIR/config.yaml" --user-data-dir "$RUN_DIR/user-data" \
  --extensions-dir "$RUN_DIR/extensions" --install-extension "$VSIX" >"$RUN_DIR/install.log" 2>&1 \
  || { cat "$RUN_DIR/install.log"; exit 1; }

PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
setsid "$CODE_SERVER" --config "$RUN_DIR/config.yaml" --auth none --bind-addr "127.0.0.1:$PORT" \
  --disable-telemetry --disable-update-check --disable-workspace-trust --disable-getting-started-override \
  --user-data-dir "$RUN_DIR/user-data" --extensions-dir "$RUN_DIR/extensions" "$WORKSPACE" \
  >"$RUN_DIR/code-server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$RUN_DIR/code-server.log"; log "FAIL: code-server exited"; exit 1; fi
  sleep 0.5
done
log "code-server on port $PORT"

status=0
E2E_URL="http://127.0.0.1:$PORT" E2E_WORKSPACE="$WORKSPACE" E2E_ARTIFACTS="$ARTIFACTS" PLAYWRIGHT_CORE="$PLAYWRIGHT_DIR" \
  timeout 420 node "$REPO/tests/vscode/e2e.cjs" || status=$?
log "finished in $(( $(date +%s) - START )) s (exit $status); screenshots in test-artifacts/vscode/"
exit "$status"
