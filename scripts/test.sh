#!/usr/bin/env bash
# The one test command: set up, build, and run every test (native, fuzz, Node, server, browser,
# and the examples built from the packed tarball).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
bash scripts/check-sans-io.sh
ctest --test-dir build/native --output-on-failure -j2
[ -f scripts/fuzz.sh ] && bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
node --test --test-concurrency=1 tests/node/ tests/server/ tests/browser/
bash scripts/test-examples.sh
