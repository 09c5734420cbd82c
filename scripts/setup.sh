#!/usr/bin/env bash
# Everything a fresh Debian machine with Node and npm needs before building:
# system packages, pinned third-party sources, npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
bash scripts/fetch-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
# Dependencies added since node_modules was made (package-lock.json newer than npm's record of
# the last install): install them, keeping what is there.
[ node_modules/.package-lock.json -nt package-lock.json ] || npm install --no-audit --no-fund
