#!/usr/bin/env bash
# Makes the benchmark peers usable after `npm ci`: better-sqlite3 needs its native addon, and
# npm here neither runs dependency install scripts nor can download prebuilt binaries. Builds
# it from the sources the package ships, with the node-gyp bundled with npm, against the
# system's Node headers (Debian: /usr/include/node, from the nodejs/libnode-dev packages).
set -euo pipefail
cd "$(dirname "$0")/.."
if node -e "new (require('better-sqlite3'))(':memory:').close()" 2>/dev/null; then
  echo "better-sqlite3: native addon loads"
  exit 0
fi
GYP="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$GYP" ] || GYP=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
NODEDIR=/usr
if [ ! -f /usr/include/node/node_api.h ]; then
  echo "no Node headers in /usr/include/node: apt-get install -y libnode-dev" >&2
  apt-get install -y libnode-dev >/dev/null
fi
(cd node_modules/better-sqlite3 && node "$GYP" rebuild --release --nodedir="$NODEDIR" -j 2)
node -e "new (require('better-sqlite3'))(':memory:').close()" && echo "better-sqlite3: built"
