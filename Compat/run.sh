#!/usr/bin/env bash
# ExecBridge compatibility suite: real third-party peers against the gateway, or against each other.
#
#   Compat/run.sh --gateway PATH_TO_execbridge [--gateway-arg ARG]... [--h2] [--no-tty] [--only REGEX]
#       starts `execbridge serve --listen 127.0.0.1:PORT [ARG...]` (local backend) and runs the SPDY cases with
#       the Go client (spdy-exec-client, moby/spdystream as in kubectl); --h2 adds the HTTP/2 cases (h2 client).
#   Compat/run.sh --direct [--server-arg ARG]... [--no-tty] [--only REGEX]
#       the SPDY cases, Go client straight to the Go server (spdy-exec-server): the reference behaviour
#       (--server-arg passes e.g. "-teardown graceful" to the server).
#   Compat/run.sh --h2-selftest [--only REGEX]
#       the HTTP/2 cases, h2 client against h2/h2_mock_server.py (checks the client before the gateway has h2).
#
# Prints one PASS/FAIL line per case and ends with exactly one line "N passed, M failed"; exits 1 on any failure.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

MODE=""
GATEWAY=""
GATEWAY_ARGS=()
SERVER_ARGS=()
TTY_CASES=1
H2_CASES=0
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
    --h2) H2_CASES=1 ;;
    --no-tty) TTY_CASES=0 ;;
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
SPDY_CASES=1
if [ "$MODE" = h2-selftest ]; then
    SPDY_CASES=0
    H2_CASES=1
fi

trap stop_all EXIT
trap 'exit 130' INT TERM

CASE_DIR="$WORK_DIR/cases/$MODE"
rm -rf "$CASE_DIR"
mkdir -p "$CASE_DIR"

# --- peers ---------------------------------------------------------------------------------------------------

if [ "$SPDY_CASES" = 1 ]; then
    build_log="$WORK_DIR/build.log"
    if ! "$COMPAT_DIR/spdy-go/build.sh" >"$build_log" 2>&1; then
        fail_case build "spdy-go/build.sh failed: $(tail -n 3 "$build_log" | tr '\n' ' ')"
        summary
        exit 1
    fi
    if [ -f "$WORK_DIR/SKIP-spdy-go" ]; then
        grep '^SKIP' "$build_log"
        SPDY_CASES=0
        [ "$MODE" = direct ] && { summary; exit 0; }
    fi
fi
if [ "$H2_CASES" = 1 ] && ! python3 -c 'import h2' 2>/dev/null; then
    python3 -m pip install -q h2 >"$WORK_DIR/pip.log" 2>&1 || true
    if ! python3 -c 'import h2' 2>/dev/null; then
        echo "SKIP h2: the Python h2 package is not installable here"
        H2_CASES=0
    fi
fi

case "$MODE" in
direct)
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
    port_file="$CASE_DIR/server.port"
    start_bg "$CASE_DIR/server.log" python3 "$COMPAT_DIR/h2/h2_mock_server.py" --port-file "$port_file"
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

# --- data ----------------------------------------------------------------------------------------------------

DATA="$WORK_DIR/data"
mkdir -p "$DATA"
BIG="$DATA/stdin-10MiB.bin"
if [ "$(stat -c %s "$BIG" 2>/dev/null || echo 0)" != 10485760 ]; then
    head -c 10485760 /dev/urandom >"$BIG"
fi
BIG_SHA="$(sha256sum <"$BIG" | cut -d' ' -f1)"

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

[ "$SPDY_CASES" = 1 ] && source "$COMPAT_DIR/cases/spdy.sh"
[ "$H2_CASES" = 1 ] && source "$COMPAT_DIR/cases/h2.sh"

summary
