#!/usr/bin/env bash
# Builds the libFuzzer target for the shape response decoder (clang,
# -fsanitize=fuzzer,address,undefined) in build/fuzz and runs it for N seconds
# (default 60) over the committed seed corpus tests/fuzz/corpus/.
# New inputs go to tests/fuzz/corpus-work/ (git-ignored). A crash fails the
# script and leaves build/fuzz/crash-*: copy it to tests/fuzz/regressions/
# (replayed here first, and by tests/native/fuzz_regressions_test.cc).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
OUT=build/fuzz
mkdir -p tests/fuzz/corpus-work
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cmake -S . -B "$OUT" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="${CC_FUZZ:-clang}" -DCMAKE_CXX_COMPILER="${CXX_FUZZ:-clang++}" \
  -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN -fsanitize=fuzzer-no-link" \
  -DEL_FUZZ=ON >/dev/null
cmake --build "$OUT" --target decoder_fuzz -j"${JOBS:-2}" >/dev/null
BIN="$OUT/tests/native/decoder_fuzz"
if compgen -G "tests/fuzz/regressions/*" >/dev/null; then
  "$BIN" -runs=0 tests/fuzz/regressions/* 2>&1 | tail -1
fi
"$BIN" -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$OUT/" -print_final_stats=1 tests/fuzz/corpus-work tests/fuzz/corpus 2>&1 | tail -12
