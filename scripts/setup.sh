#!/usr/bin/env bash
# Everything a fresh Debian machine with Node and npm needs before building:
# system packages, pinned third-party sources, npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
bash scripts/fetch-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
