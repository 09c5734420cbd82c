#!/usr/bin/env bash
# The examples as an app developer gets them: packs the package (npm pack), copies each
# example to build/examples/<name>, installs the tarball plus the example's dependencies from
# the registry (npm's cache is kept in build/examples/.npm-cache, so a rerun is quick), builds
# it with no bundler configuration, and runs it in Chromium against the dev server
# (tests/examples/). EXAMPLES picks which (default: all, "vite-react vite-react-vite7 nextjs
# webpack on-demand"; vite-react-vite7 is examples/vite-react installed with Vite 7).
# Needs the package built first (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES=${EXAMPLES:-vite-react vite-react-vite7 nextjs webpack on-demand}
# A Next.js build has its sync URL inlined (NEXT_PUBLIC_ELECTRIC_URL); the test serves it there.
export EXAMPLE_SYNC_PORT=${EXAMPLE_SYNC_PORT:-5191}
export NEXT_PUBLIC_ELECTRIC_URL="http://127.0.0.1:$EXAMPLE_SYNC_PORT" NEXT_TELEMETRY_DISABLED=1
WORK=build/examples
mkdir -p "$WORK"
export npm_config_cache="$PWD/$WORK/.npm-cache"
rm -f "$WORK"/electrolite-*.tgz
start=$(date +%s)
TARBALL=$(npm pack --silent --pack-destination "$WORK" | tail -1)
for ex in $EXAMPLES; do
  t0=$(date +%s)
  mkdir -p "$WORK/$ex"
  # Fresh sources each run; node_modules stays for the next.
  find "$WORK/$ex" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
  src=${ex%-vite7} extra=()
  [ "$src" != "$ex" ] && extra=(vite@7)
  (cd "examples/$src" && tar cf - --exclude=node_modules --exclude=dist --exclude=.next .) | (cd "$WORK/$ex" && tar xf -)
  (cd "$WORK/$ex" && npm install --no-audit --no-fund --prefer-offline --loglevel=error "../$TARBALL" "${extra[@]}" && npm run --silent build)
  echo "examples: $ex installed and built in $(( $(date +%s) - t0 )) s"
done
EXAMPLES="$EXAMPLES" node --test --test-concurrency=1 tests/examples/
echo "examples: done in $(( $(date +%s) - start )) s"
