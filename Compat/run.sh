#!/usr/bin/env bash
# ExecBridge compatibility suite: real third-party peers against the gateway, or against each other.
#
#   Compat/run.sh --gateway PATH_TO_execbridge [--gateway-arg ARG]... [--no-h2] [--no-tty] [--only REGEX]
#       starts `execbridge serve --listen 127.0.0.1:PORT [ARG...]` (local backend) and runs every case file
#       Compat/cases/*.sh against it: SPDY (Go spdystream client), HTTP/2 (Python h2, curl, nghttp, h2load),
#       port-forward (kubectl 1.20 and the newest, the Python client; cases/portforward.sh, its own gateway),
#       TLS (a second gateway), bad input. --no-h2 leaves out the HTTP/2 cases.
#   Compat/run.sh --direct [--server-arg ARG]... [--no-tty] [--only REGEX]
#       the SPDY cases, Go client straight to the Go server (spdy-exec-server): the reference behaviour
#       (--server-arg passes e.g. "-teardown graceful" to the server).
#   Compat/run.sh --h2-selftest [--only REGEX]
#       the HTTP/2 channel cases, h2 client against h2/h2_mock_server.py (checks the client itself).
#   --no-install: use what is installed (no apt-get, no pip); by default Compat/install.sh runs first.
#
# Prints one PASS/FAIL/SKIP line per case and ends with exactly one line "N passed, M failed"; exits 1 on any failure.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

MODE=""
GATEWAY=""
GATEWAY_ARGS=()
SERVER_ARGS=()
TTY_CASES=1
H2_CASES=1
INSTALL=1
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
    --direct) MODE=direct ;;
    --h2-selftest) MODE=h2-selftest ;;
    --gateway)
        MODE=gateway
        GATEWAY="${2:-}"
        shift
        ;;
    --gateway-arg)
        GATEWAY_ARGS+=("${2:-}")
        shift
        ;;
    --server-arg)
        SERVER_ARGS+=("${2:-}")
        shift
        ;;
    --h2) H2_CASES=1 ;; # the default; kept for old command lines
    --no-h2) H2_CASES=0 ;;
    --no-tty) TTY_CASES=0 ;;
    --no-install) INSTALL=0 ;;
    --only)
        ONLY="${2:-}"
        shift
        ;;
    -h | --help) usage ;;
    *)
        echo "run.sh: unknown argument '$1'" >&2
        usage
        ;;
    esac
    shift
done
[ -n "$MODE" ] || usage
if [ "$MODE" = gateway ]; then
    [ -n "$GATEWAY" ] && [ -x "$GATEWAY" ] || {
        echo "run.sh: --gateway needs the path of an executable execbridge (got '$GATEWAY')" >&2
        exit 2
    }
    GATEWAY="$(cd "$(dirname "$GATEWAY")" && pwd)/$(basename "$GATEWAY")"
fi
[ "$MODE" = h2-selftest ] && H2_CASES=1
[ "$MODE" = direct ] && H2_CASES=0

trap stop_all EXIT
trap 'exit 130' INT TERM

CASE_DIR="$WORK_DIR/cases/$MODE"
rm -rf "$CASE_DIR"
mkdir -p "$CASE_DIR"

# --- peers ---------------------------------------------------------------------------------------------------

[ "$INSTALL" = 1 ] && "$COMPAT_DIR/install.sh"
PY="$("$COMPAT_DIR/install.sh" --print-python)"

if [ "$MODE" != h2-selftest ]; then
    build_log="$WORK_DIR/build.log"
    if ! "$COMPAT_DIR/spdy-go/build.sh" >"$build_log" 2>&1; then
        fail_case build "spdy-go/build.sh failed: $(tail -n 3 "$build_log" | tr '\n' ' ')"
        summary
        exit 1
    fi
    grep '^SKIP' "$build_log"
fi

case "$MODE" in
direct)
    needs direct spdy-go || { summary; exit 0; }
    port_file="$CASE_DIR/server.port"
    start_bg "$CASE_DIR/server.log" "$BIN_DIR/spdy-exec-server" -listen 127.0.0.1:0 -port-file "$port_file" -v \
        "${SERVER_ARGS[@]}"
    wait_file "$port_file" "$BG_PID" || {
        fail_case start-server "spdy-exec-server did not start: $(tail -n 3 "$CASE_DIR/server.log" | tr '\n' ' ')"
        summary
        exit 1
    }
    PORT="$(cat "$port_file")"
    ;;
h2-selftest)
    needs h2-selftest py:h2 || { summary; exit 0; }
    port_file="$CASE_DIR/server.port"
    start_bg "$CASE_DIR/server.log" "$PY" "$COMPAT_DIR/h2/h2_mock_server.py" --port-file "$port_file"
    wait_file "$port_file" "$BG_PID" || {
        fail_case start-server "h2_mock_server.py did not start: $(tail -n 3 "$CASE_DIR/server.log" | tr '\n' ' ')"
        summary
        exit 1
    }
    PORT="$(cat "$port_file")"
    ;;
gateway)
    PORT="$(free_port)"
    start_bg "$CASE_DIR/gateway.log" "$GATEWAY" serve --listen "127.0.0.1:$PORT" "${GATEWAY_ARGS[@]}"
    wait_port "$PORT" "$BG_PID" || {
        fail_case start-gateway "execbridge serve did not listen on 127.0.0.1:$PORT: $(tail -n 3 "$CASE_DIR/gateway.log" | tr '\n' ' ')"
        summary
        exit 1
    }
    ;;
esac
BASE="http://127.0.0.1:$PORT"

# exec_url FORM FLAGS ARGV...: FORM main or alt; FLAGS a comma list of stdin,stdout,stderr,tty.
#   gateway: main = apiserver form (what kubectl sends), alt = the 2015 legacy proxy form
#   direct, h2-selftest: main = kubelet form (what a node serves), alt = apiserver form
exec_url() {
    local form="$1" flags="$2"
    shift 2
    local cq
    cq="$(command_query "$@")"
    case "$MODE:$form" in
    gateway:main | direct:alt | h2-selftest:alt)
        printf '%s' "$BASE/api/v1/namespaces/default/pods/demo/exec?container=app&$cq$(flags_query apiserver "$flags")"
        ;;
    gateway:alt) printf '%s' "$BASE/proxy/minions/node1/exec/default/demo/app?$cq$(flags_query kubelet "$flags")" ;;
    *) printf '%s' "$BASE/exec/default/demo/app?$cq$(flags_query kubelet "$flags")" ;;
    esac
}

# wanted NAME: honour --only.
wanted() {
    [ -z "$ONLY" ] || [[ "$1" =~ $ONLY ]]
}

# in_mode MODE...: the run is in one of these modes (a case file returns early otherwise).
in_mode() {
    local m
    for m in "$@"; do
        [ "$MODE" = "$m" ] && return 0
    done
    return 1
}

# --- data ----------------------------------------------------------------------------------------------------

DATA="$WORK_DIR/data"
mkdir -p "$DATA"
BIG="$DATA/stdin-10MiB.bin"
if [ "$(stat -c %s "$BIG" 2>/dev/null || echo 0)" != 10485760 ]; then
    head -c 10485760 /dev/urandom >"$BIG"
fi
BIG_SHA="$(sha256sum <"$BIG" | cut -d' ' -f1)"
MIB="$DATA/stdin-1MiB.bin"
if [ "$(stat -c %s "$MIB" 2>/dev/null || echo 0)" != 1048576 ]; then
    head -c 1048576 "$BIG" >"$MIB"
fi
MIB_SHA="$(sha256sum <"$MIB" | cut -d' ' -f1)"

V4=v4.channel.k8s.io
V3=v3.channel.k8s.io
V2=v2.channel.k8s.io
V1=channel.k8s.io

# Error-stream bytes, byte-exact (kubelet's v4WriteStatusFunc; v1-v3 carry the message text on failure).
ST_SUCCESS='{"metadata":{},"status":"Success"}'
st_exit() { # st_exit CODE DETAIL
    printf '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: %s","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"%s"}]}}' "$2" "$1"
}
ST_EXIT3="$(st_exit 3 'exit status 3')"
ST_KILLED="$(st_exit 137 'signal: killed')"

# --- cases ---------------------------------------------------------------------------------------------------

# Every case file, in name order; each one decides for itself (in_mode, H2_CASES, needs, wanted) what applies.
for case_file in "$COMPAT_DIR"/cases/*.sh; do
    source "$case_file"
done

summary
