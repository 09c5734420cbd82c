#!/usr/bin/env bash
# Install the Debian packages the build and the tests need, only those that are missing.
# Runs on a fresh Debian machine that has only Node and npm (as root, or with sudo).
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# firefox-esr, webkit2gtk-driver (WebKitWebDriver + MiniBrowser) and xvfb: the three-engine
# browser tests (tests/browser/drivers.mjs: engines, storage-engines, tabs-engines).
for p in build-essential cmake libgtest-dev emscripten clang libclang-rt-14-dev \
         postgresql-15 chromium zstd firefox-esr webkit2gtk-driver xvfb xauth; do
  have_pkg "$p" || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
