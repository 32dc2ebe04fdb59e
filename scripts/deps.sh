#!/usr/bin/env bash
# Installs the Debian packages ExecBridge builds and tests with, when they are missing.
# Usage: scripts/deps.sh build   (C libraries for the gateway, and the web terminal's xterm.js for --ui)
#        scripts/deps.sh test    (plus the real peers the compatibility suite drives)
#        scripts/deps.sh browser (headless Chromium for Compat/cases/ui.sh; apart, so that it costs no other peer)
set -euo pipefail

build=(libevent-dev libnghttp2-dev libssl-dev zlib1g-dev pkg-config)
# `--ui`: xterm.js 3.8, served from the installed files (docs/ui.md): node-xterm's modules, libjs-xterm's css and fit addon.
build+=(node-xterm libjs-xterm)
browser=(chromium chromium-driver python3-selenium fonts-dejavu-core)
# The compatibility suite's peers (Compat/install.sh): Go + moby/spdystream (kubectl's SPDY stack), nghttp/h2load,
# curl, openssl (a test certificate), python3 + venv (h2, websocket-client, kubernetes from PyPI).
test=(golang-go golang-github-docker-spdystream-dev nghttp2-client nghttp2-server curl openssl ca-certificates
    python3 python3-venv procps)

want=("${build[@]}")
[ "${1:-build}" = test ] && want+=("${test[@]}")
[ "${1:-build}" = browser ] && want=("${browser[@]}")

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
