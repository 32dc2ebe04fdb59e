#!/usr/bin/env bash
# Builds the two Go peers (spdy-exec-client, spdy-exec-server) on Debian's moby/spdystream into Compat/.work/bin/.
# GOPATH mode, no network: the only dependency is the Debian package golang-github-docker-spdystream-dev.
# If Go or spdystream cannot be had, prints one SKIP line, leaves Compat/.work/SKIP-spdy-go and exits 0.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(cd "$here/.." && pwd)/.work"
bin="$work/bin"
skip_marker="$work/SKIP-spdy-go"
gocode="${SPDY_GOPATH:-/usr/share/gocode}" # where Debian puts moby/spdystream
mkdir -p "$bin"
rm -f "$skip_marker"

skip() {
    echo "SKIP spdy-go: $*"
    echo "$*" >"$skip_marker"
    exit 0
}

have_toolchain() {
    command -v go >/dev/null 2>&1 && [ -d "$gocode/src/github.com/moby/spdystream" ]
}

if ! have_toolchain; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing golang-go and golang-github-docker-spdystream-dev with apt-get"
        apt_log="$work/apt.log"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q golang-go golang-github-docker-spdystream-dev >"$apt_log" 2>&1; then
            apt-get update -q >>"$apt_log" 2>&1 || true
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q golang-go golang-github-docker-spdystream-dev >>"$apt_log" 2>&1 || true
        fi
    fi
    have_toolchain || skip "Go or moby/spdystream is not installable here (need golang-go, golang-github-docker-spdystream-dev)"
fi

export GOPATH="$gocode" GO111MODULE=off GOFLAGS= CGO_ENABLED=0
export GOCACHE="$work/gocache"
for prog in client server; do
    name="spdy-exec-$prog"
    (cd "$here/$prog" && go build -trimpath -o "$bin/$name" .)
    echo "built $bin/$name"
done
