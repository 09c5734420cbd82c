#!/usr/bin/env bash
# Set up, build, and run the dev server with the demo on its embedded default database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec node dist/server/cli.js "$@"
