#!/usr/bin/env bash
# src/ is the sans-IO engine: no Emscripten, POSIX or platform headers (DESIGN.md, STYLE.md #1).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(grep -rnE '#\s*include\s*[<"](emscripten|unistd\.h|sys/|pthread\.h|windows\.h|fcntl\.h|chrono|thread|random|ctime|time\.h|fstream|filesystem)' src --include='*.h' --include='*.cc' | grep -v '_test\.cc' || true)
if [ -n "$bad" ]; then echo "src/ must not include platform headers:"; echo "$bad"; exit 1; fi
echo "sans-IO check: ok"
