#!/usr/bin/env bash
# ExecBridge compatibility suite: real third-party SPDY peers (moby/spdystream, as kubectl and kubelet use it)
# against the gateway, or against each other.
#
#   Compat/run.sh --gateway PATH_TO_execbridge [--gateway-arg ARG]... [--no-tty] [--only REGEX]
#       starts `execbridge serve --listen 127.0.0.1:PORT [ARG...]` (local backend) and runs every case with the
#       Go client (spdy-exec-client) through it.
#   Compat/run.sh --direct [--server-arg ARG]... [--no-tty] [--only REGEX]
#       the same cases, Go client straight to the Go server (spdy-exec-server): the reference behaviour
#       (--server-arg passes e.g. "-teardown graceful" to the server).
#
# Prints one PASS/FAIL line per case and ends with exactly one line "N passed, M failed"; exits 1 on any failure.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

MODE=""
GATEWAY=""
GATEWAY_ARGS=()
SERVER_ARGS=()
TTY_CASES=1
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
    --direct) MODE=direct ;;
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

trap stop_all EXIT
trap 'exit 130' INT TERM

# --- peers ---------------------------------------------------------------------------------------------------

build_log="$WORK_DIR/build.log"
mkdir -p "$WORK_DIR"
if ! "$COMPAT_DIR/spdy-go/build.sh" >"$build_log" 2>&1; then
    fail_case build "spdy-go/build.sh failed: $(tail -n 3 "$build_log" | tr '\n' ' ')"
    summary
    exit 1
fi
if [ -f "$WORK_DIR/SKIP-spdy-go" ]; then
    grep '^SKIP' "$build_log"
    summary
    exit 0
fi

CASE_DIR="$WORK_DIR/cases/$MODE"
rm -rf "$CASE_DIR"
mkdir -p "$CASE_DIR"

if [ "$MODE" = direct ]; then
    port_file="$CASE_DIR/server.port"
    start_bg "$CASE_DIR/server.log" "$BIN_DIR/spdy-exec-server" -listen 127.0.0.1:0 -port-file "$port_file" -v "${SERVER_ARGS[@]}"
    if ! wait_file "$port_file" "$BG_PID"; then
        fail_case start-server "spdy-exec-server did not start: $(tail -n 3 "$CASE_DIR/server.log" | tr '\n' ' ')"
        summary
        exit 1
    fi
    PORT="$(cat "$port_file")"
else
    PORT="$(free_port)"
    start_bg "$CASE_DIR/gateway.log" "$GATEWAY" serve --listen "127.0.0.1:$PORT" "${GATEWAY_ARGS[@]}"
    if ! wait_port "$PORT" "$BG_PID"; then
        fail_case start-gateway "execbridge serve did not listen on 127.0.0.1:$PORT: $(tail -n 3 "$CASE_DIR/gateway.log" | tr '\n' ' ')"
        summary
        exit 1
    fi
fi
BASE="http://127.0.0.1:$PORT"

# exec_url FORM FLAGS ARGV...: FORM main or alt; FLAGS a comma list of stdin,stdout,stderr,tty.
#   gateway: main = apiserver form (what kubectl sends), alt = the 2015 legacy proxy form
#   direct:  main = kubelet form (what a node serves), alt = apiserver form
exec_url() {
    local form="$1" flags="$2"
    shift 2
    local cq
    cq="$(command_query "$@")"
    case "$MODE:$form" in
    gateway:main | direct:alt) printf '%s' "$BASE/api/v1/namespaces/default/pods/demo/exec?container=app&$cq$(flags_query apiserver "$flags")" ;;
    gateway:alt) printf '%s' "$BASE/proxy/minions/node1/exec/default/demo/app?$cq$(flags_query kubelet "$flags")" ;;
    direct:main) printf '%s' "$BASE/exec/default/demo/app?$cq$(flags_query kubelet "$flags")" ;;
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

# --- cases ---------------------------------------------------------------------------------------------------

if wanted echo; then
    run_client echo "" "$(exec_url main stdout,stderr echo hello)"
    check echo 'expect_rc 0' 'expect_out hello' 'expect_err ""' "expect_report protocol $V4"
fi

if wanted echo-alt-form; then
    run_client echo-alt-form "" "$(exec_url alt stdout,stderr echo hello alt)"
    check echo-alt-form 'expect_rc 0' 'expect_out "hello alt"' 'expect_err ""'
fi

if wanted echo-get; then
    run_client echo-get "" -method GET "$(exec_url main stdout,stderr echo by GET)"
    check echo-get 'expect_rc 0' 'expect_out "by GET"'
fi

if wanted exit-3; then
    run_client exit-3 "" "$(exec_url main stdout,stderr sh -c 'exit 3')"
    check exit-3 'expect_rc 3' 'expect_out ""' 'expect_err "command terminated with exit code 3"'
fi

if wanted exit-signal; then
    run_client exit-signal "" "$(exec_url main stdout,stderr sh -c 'kill -9 $$')"
    check exit-signal 'expect_rc 137' 'expect_err "command terminated with exit code 137"'
fi

if wanted stderr-separate; then
    run_client stderr-separate "" "$(exec_url main stdout,stderr sh -c 'echo out; echo err >&2; echo out2')"
    check stderr-separate 'expect_rc 0' 'expect_out "out
out2"' 'expect_err err'
fi

if wanted stdin-halfclose-sha256; then
    run_client stdin-halfclose-sha256 "$BIG" "$(exec_url main stdin,stdout,stderr sha256sum)"
    check stdin-halfclose-sha256 'expect_rc 0' "expect_out '$BIG_SHA  -'" 'expect_err ""'
fi

if wanted stdin-roundtrip-10MiB; then
    run_client stdin-roundtrip-10MiB "$BIG" "$(exec_url main stdin,stdout,stderr cat)"
    got="$(sha256sum <"$OUT" | cut -d' ' -f1)"
    check stdin-roundtrip-10MiB 'expect_rc 0' \
        "[ '$got' = '$BIG_SHA' ] || { WHY=\"stdout sha256 $got ($(stat -c %s "$OUT") bytes), want $BIG_SHA\"; false; }"
fi

if wanted stdin-unread-exit; then
    # The command exits without reading its stdin while the client still sends 10 MiB.
    run_client stdin-unread-exit "$BIG" "$(exec_url main stdin,stdout,stderr sh -c 'echo bye; exit 5')"
    check stdin-unread-exit 'expect_rc 5' 'expect_out bye'
fi

if wanted stdin-small-alt-form; then
    printf 'one\ntwo\n' >"$CASE_DIR/small.in"
    run_client stdin-small-alt-form "$CASE_DIR/small.in" "$(exec_url alt stdin,stdout,stderr sh -c 'wc -l; cat')"
    check stdin-small-alt-form 'expect_rc 0' 'expect_out 2'
fi

if wanted tty-resize; then
    if [ "$TTY_CASES" = 1 ]; then
        # Poll (bounded) for the size: the first resize may land just after the process starts.
        poll='i=0; while [ $i -lt 50 ]; do s=$(stty size); [ "$s" = "40 100" ] && break; i=$((i+1)); sleep 0.1; done; echo "size $s"'
        run_client tty-resize "" -resize 100x40 "$(exec_url main stdout,tty sh -c "$poll")"
        check tty-resize 'expect_rc 0' 'expect_out_contains "size 40 100"' "expect_report streams 3"
    else
        skip_case tty-resize "--no-tty"
    fi
fi

if wanted tty-exit-2; then
    if [ "$TTY_CASES" = 1 ]; then
        run_client tty-exit-2 "" "$(exec_url main stdout,stderr,tty sh -c 'tty >/dev/null && echo on-a-tty; exit 2')"
        check tty-exit-2 'expect_rc 2' 'expect_out_contains on-a-tty' "expect_report streams 3"
    else
        skip_case tty-exit-2 "--no-tty"
    fi
fi

for v in $V4 $V3 $V2 $V1; do
    name="negotiate-$v"
    wanted "$name" || continue
    run_client "$name" "" -versions "$v" "$(exec_url main stdout,stderr sh -c 'echo hi; exit 3')"
    case "$v" in
    "$V4") check "$name" "expect_report protocol $v" 'expect_out hi' 'expect_rc 3' ;;
    "$V1") check "$name" "expect_report protocol $v" 'expect_out hi' 'expect_rc 1' \
        'expect_err_contains "Error executing remote command: command terminated with non-zero exit code"' ;;
    *) check "$name" "expect_report protocol $v" 'expect_out hi' 'expect_rc 1' \
        'expect_err_contains "error executing remote command: command terminated with non-zero exit code"' ;;
    esac
done

for v in $V3 $V2 $V1; do
    name="success-$v"
    wanted "$name" || continue
    run_client "$name" "" -versions "$v" "$(exec_url main stdout,stderr echo ok)"
    check "$name" "expect_report protocol $v" 'expect_rc 0' 'expect_out ok' 'expect_err ""'
done

if wanted stdin-halfclose-v2; then
    printf 'abc' >"$CASE_DIR/abc.in"
    run_client stdin-halfclose-v2 "$CASE_DIR/abc.in" -versions $V2 "$(exec_url main stdin,stdout,stderr wc -c)"
    check stdin-halfclose-v2 "expect_report protocol $V2" 'expect_rc 0' 'expect_out 3'
fi

if wanted client-order-wins; then
    run_client client-order-wins "" -versions "$V3,$V4,$V2" "$(exec_url main stdout echo order)"
    check client-order-wins "expect_report protocol $V3" 'expect_rc 0' 'expect_out order'
fi

if wanted comma-joined-versions; then
    run_client comma-joined-versions "" -no-version-header -H "X-Stream-Protocol-Version: v9.channel.k8s.io, $V2" \
        "$(exec_url main stdout echo joined)"
    check comma-joined-versions "expect_report protocol $V2" 'expect_rc 0' 'expect_out joined'
fi

if wanted no-version-header; then
    run_client no-version-header "" -no-version-header "$(exec_url main stdout,stderr echo old client)"
    p="$(report_value protocol)"
    check no-version-header 'expect_rc 0' 'expect_out "old client"' "expect_report version 1" \
        "[ -z '$p' ] || [ '$p' = '$V1' ] || { WHY=\"protocol '$p', want none or $V1\"; false; }"
fi

if wanted unknown-version-403; then
    run_client unknown-version-403 "" -versions v9.channel.k8s.io "$(exec_url main stdout echo never)"
    acc="$(report_value accepted_versions)"
    check unknown-version-403 'expect_report http_status 403' 'expect_rc 1' 'expect_out ""' \
        "case ',$acc,' in *',$V4,'*) ;; *) WHY=\"X-Accepted-Stream-Protocol-Versions '$acc' lacks $V4\"; false ;; esac"
fi

if wanted no-streams-400; then
    run_client no-streams-400 "" "$(exec_url main "" echo never)"
    check no-streams-400 'expect_report http_status 400' 'expect_rc 1' 'expect_out ""'
fi

if wanted not-upgrade-400; then
    code="$(curl -s -o "$CASE_DIR/not-upgrade-400.body" -w '%{http_code}' --max-time 10 \
        "$(exec_url main stdout echo never)" 2>/dev/null)"
    check not-upgrade-400 "[ '$code' = 400 ] || { WHY=\"HTTP status '$code', want 400\"; false; }"
fi

if wanted command-not-found; then
    run_client command-not-found "" "$(exec_url main stdout,stderr /nonexistent/command)"
    check command-not-found '[ "$RC" -ne 0 ] || { WHY="exit code 0 for a missing executable"; false; }' \
        'expect_report http_status 101'
fi

summary
