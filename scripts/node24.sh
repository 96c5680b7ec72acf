#!/usr/bin/env bash
# Runs a command on Node.js >= 22.12 (Node 24 LTS when the machine's node is older).
# Used by the root "start", "test" and "bench" scripts so that `npm ci && npm test` and
# `npm ci && npm start` hold on a fresh machine whose own node is end-of-life.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=ensure-node.sh
. "$here/ensure-node.sh"
exec "$@"
