#!/usr/bin/env bash
# Captures the transcripts in this folder from real clients: for each one a fresh gateway
# (`execbridge serve --trace-frames`, local backend, no inventory) runs one session, and the traced
# connection becomes NAME.txt with a short header saying who and what.
#
#   Compat/transcripts/capture.sh --gateway .build/debug/execbridge [--only REGEX]
#
# Needs the Go client (Compat/spdy-go/build.sh), Python h2, and kubectl (1.20 is fetched as Compat/run.sh does).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
GATEWAY=""
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
    --gateway) GATEWAY="${2:-}"; shift ;;
    --only) ONLY="${2:-}"; shift ;;
    *) echo "capture.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
[ -x "$GATEWAY" ] || { echo "capture.sh: --gateway needs an executable execbridge" >&2; exit 2; }
trap stop_all EXIT
TMP="$WORK_DIR/capture"
rm -rf "$TMP"
mkdir -p "$TMP"
: >"$TMP/kubeconfig"
printf 'hello\n' >"$TMP/hello.in"

kubectl_binaries "$TMP"
K20="$KUBECTL_120"
K32=/usr/lib/google-cloud-sdk/bin/kubectl.1.32
[ -x "$K32" ] || K32=/usr/bin/kubectl
"$here/../spdy-go/build.sh" >/dev/null 2>&1 || true

# capture NAME DESCRIPTION STDIN CMD...: CMD may use $BASE; the trace of its one traced connection becomes NAME.txt.
capture() {
    local name="$1" what="$2" input="$3"
    shift 3
    [ -z "$ONLY" ] || [[ "$name" =~ $ONLY ]] || return 0
    local port trace="$TMP/$name.trace"
    port="$(free_port)"
    start_bg "$TMP/$name.gateway.log" "$GATEWAY" serve --listen "127.0.0.1:$port" --trace-frames "$trace"
    local pid="$BG_PID"
    wait_port "$port" "$pid" || { echo "FAIL $name: gateway did not start"; return 0; }
    BASE="http://127.0.0.1:$port"
    local -a argv=()
    local a
    for a in "$@"; do argv+=("${a//\$BASE/$BASE}"); done
    local rc=0
    timeout 60 "${argv[@]}" <"${input:-/dev/null}" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
    stop_pid "$pid"
    if [ "$(grep -c '^# connection' "$trace")" != 1 ]; then
        echo "FAIL $name: expected one traced connection, got $(grep -c '^# connection' "$trace")"
        return 0
    fi
    {
        echo "# $what"
        echo "# client exit code: $rc; stdin: $( [ -n "$input" ] && printf '%q' "$(cat "$input")" || echo none)"
        echo "# captured by Compat/transcripts/capture.sh with $("$GATEWAY" version)"
        cat "$trace"
    } >"$here/$name.txt"
    echo "captured $name (exit $rc)"
}

kube() { # kube BIN ARGS...
    local bin="$1"
    shift
    printf '%s\n' env KUBECONFIG="$TMP/kubeconfig" "$bin" --cache-dir "$TMP/cache-$(basename "$bin")" --server '$BASE' "$@"
}

EXEC_URL='$BASE/api/v1/namespaces/default/pods/demo/exec?container=app'
TTY_CMD='i=0; while [ "$(stty size)" != "40 100" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; stty size; exit 2'

if [ -x "$K32" ]; then
    v="$("$K32" version --client -o json | sed -n 's/.*"gitVersion": *"\(v[^"]*\)".*/\1/p' | head -n 1)"
    mapfile -t cmd < <(kube "$K32" exec -i demo -c app -- sh -c 'cat; echo err >&2; exit 3')
    capture kubectl-1.32-spdy-stdin-exit3 "kubectl $v exec -i (SPDY/3.1, after its WebSocket attempt got 501)" "$TMP/hello.in" "${cmd[@]}"
fi
if [ -x "$K20" ]; then
    mapfile -t cmd < <(kube "$K20" exec -i demo -c app -- sh -c 'cat; echo err >&2; exit 3')
    capture kubectl-1.20-spdy-stdin-exit3 "kubectl v1.20.2 exec -i (SPDY/3.1)" "$TMP/hello.in" "${cmd[@]}"
fi
GO="$WORK_DIR/bin/spdy-exec-client"
if [ -x "$GO" ]; then
    capture spdystream-go-spdy-tty-resize "Go spdy-exec-client (moby/spdystream, as client-go): tty with a 100x40 resize" "" \
        "$GO" -resize 100x40 "$EXEC_URL&command=sh&command=-c&command=$(urlenc "$TTY_CMD")&stdout=true&tty=true"
    capture spdystream-go-spdy-v2-stdin "Go spdy-exec-client offering only v2.channel.k8s.io: stdin half-close, text error" \
        "$TMP/hello.in" "$GO" -versions v2.channel.k8s.io \
        "$EXEC_URL&command=sh&command=-c&command=$(urlenc 'wc -c; exit 3')&stdin=true&stdout=true&stderr=true"
fi
H2="$here/../h2/h2_exec_client.py"
if python3 -c 'import h2' 2>/dev/null; then
    hv="$(python3 -c 'import h2; print(h2.__version__)')"
    capture python-h2-prior-knowledge-stdin "Python h2 $hv client (Compat/h2), prior knowledge, channel streams" \
        "$TMP/hello.in" python3 "$H2" "$EXEC_URL&command=sh&command=-c&command=$(urlenc 'cat; echo err >&2; exit 3')&stdin=true&stdout=true&stderr=true"
    capture python-h2-upgrade-exit5 "Python h2 $hv client (Compat/h2), h2c upgrade, channel streams" "" \
        python3 "$H2" --upgrade "$EXEC_URL&command=sh&command=-c&command=$(urlenc 'echo up; exit 5')&stdout=true&stderr=true"
    capture python-h2-single-stream "Python h2 $hv client (Compat/h2), prior knowledge, single-stream (trailers)" \
        "$TMP/hello.in" python3 "$H2" --single-stream "$EXEC_URL&command=sh&command=-c&command=$(urlenc 'cat; exit 4')&stdin=true&stdout=true&stderr=true"
fi
