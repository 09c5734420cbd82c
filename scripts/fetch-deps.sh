#!/usr/bin/env bash
# Fetch pinned third-party C sources by name from the npm registry, check their sha256,
# and unpack them under third_party/ (kept out of git).
set -euo pipefail
cd "$(dirname "$0")/.."
TP=third_party
mkdir -p "$TP/.pack"

fetch() { # name@version sha256 inner-path dest
  local spec=$1 sum=$2 inner=$3 dest=$4
  if [ -f "$TP/$dest/.ok" ] && [ "$(cat "$TP/$dest/.ok")" = "$sum" ]; then return 0; fi
  local tgz
  tgz=$(cd "$TP/.pack" && npm pack --silent "$spec" 2>/dev/null | tail -n1)
  echo "$sum  $TP/.pack/$tgz" | sha256sum -c --quiet - || { echo "sha256 mismatch for $spec" >&2; exit 1; }
  rm -rf "$TP/$dest" "$TP/.unpack" && mkdir -p "$TP/.unpack" "$TP/$dest"
  tar xzf "$TP/.pack/$tgz" -C "$TP/.unpack" "package/$inner"
  cp -r "$TP/.unpack/package/$inner/." "$TP/$dest/"
  rm -rf "$TP/.unpack"
  echo "$sum" > "$TP/$dest/.ok"
  echo "fetched $spec -> $TP/$dest"
}

fetch better-sqlite3@12.11.1 ebf0ed75a7a59dbcb3b24bbd014ef49d9f15bc328e4adcbf516f2a8fadfa2835 deps/sqlite3 sqlite3
fetch zstd-napi@0.0.13 5b76defc67c808989c5f3920e14f662d6318b84b8d53ac3e94b99463d8d65e76 deps/zstd/lib zstd
