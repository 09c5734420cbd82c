#!/usr/bin/env bash
# Build everything: the native engine + tests, the WebAssembly module (dist/wasm), TypeScript (dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
cmake -S . -B build/native -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/native -j"$JOBS"
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}   # Debian's emscripten finds acorn here
emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/wasm -j"$JOBS"
npx tsc -p tsconfig.json
# Node's entry points as a few bundled files (scripts/bundle-node.mjs).
node scripts/bundle-node.mjs
# The default schema's database image, made by this build's engine (wasm/schema-image.mjs).
node wasm/schema-image.mjs dist/wasm
# Split the .wasm into what the first query needs and the rest (wasm/split-module.mjs).
node wasm/split-module.mjs dist/wasm
npm run --silent build:demo
