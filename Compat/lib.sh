# Shell helpers for the compatibility suite (sourced by run.sh; bash only).
# Servers started here are recorded and stopped on exit; every wait is bounded; only loopback is used.

COMPAT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK_DIR="$COMPAT_DIR/.work"
BIN_DIR="$WORK_DIR/bin"
CASE_TIMEOUT="${CASE_TIMEOUT:-60}"

PY="${PY:-python3}" # the suite's Python (the venv's once setup_python ran)

PASS_COUNT=0
FAIL_COUNT=0
STARTED_PIDS=()

# --- processes ---------------------------------------------------------------------------------------------

# start_bg LOG CMD...: start a server in the background, output to LOG; sets BG_PID.
start_bg() {
    local log="$1"
    shift
    "$@" >"$log" 2>&1 &
    BG_PID=$!
    STARTED_PIDS+=("$BG_PID")
}

# stop_pid PID: TERM, wait up to 5 s, then KILL. Only for PIDs this script started.
stop_pid() {
    local pid="$1" i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stop_all() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        stop_pid "$pid"
    done
    STARTED_PIDS=()
}

# free_port: a currently free loopback port (there is a small window before the server binds it).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT [PID]: wait up to 10 s for 127.0.0.1:PORT to accept; fail early if PID died.
wait_port() {
    local port="$1" pid="${2:-}" i
    for i in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# wait_file FILE [PID]: wait up to 10 s for FILE to be non-empty.
wait_file() {
    local file="$1" pid="${2:-}" i
    for i in $(seq 100); do
        [ -s "$file" ] && return 0
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# start_gateway NAME [ARG...]: one more `execbridge serve` on a free loopback port (log CASE_DIR/NAME.log), with
# the run's --gateway-arg options and then ARGs; sets GW_PORT and GW_PID. Stopped at exit like every server.
start_gateway() {
    local name="$1"
    shift
    GW_PORT="$(free_port)"
    start_bg "$CASE_DIR/$name.log" "$GATEWAY" serve --listen "127.0.0.1:$GW_PORT" "${GATEWAY_ARGS[@]}" "$@"
    GW_PID="$BG_PID"
    wait_port "$GW_PORT" "$GW_PID"
}

# healthy PORT: the cleartext gateway on 127.0.0.1:PORT answers GET /healthz with 200 and "ok" (10 s at most;
# bash's /dev/tcp, so that it needs no client installed).
healthy() {
    local answer
    answer="$(timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3
        cat <&3' healthy "$1" 2>/dev/null | tr -d '\r')"
    [[ "$answer" == "HTTP/1.1 200 "* ]] && [ "${answer##*$'\n'}" = ok ]
}

# --- prerequisites -------------------------------------------------------------------------------------------

# have REQ: one prerequisite of a case file is there. REQ is cmd:NAME (a command on PATH), py:MODULE (importable
# by $PY), spdy-go (the Go peers were built), curl-http2 (curl built with HTTP/2).
have() {
    case "$1" in
    cmd:*) command -v "${1#cmd:}" >/dev/null 2>&1 ;;
    py:*) "$PY" -c "import ${1#py:}" >/dev/null 2>&1 ;;
    spdy-go) [ -x "$BIN_DIR/spdy-exec-client" ] && [ -x "$BIN_DIR/spdy-exec-server" ] && [ ! -f "$WORK_DIR/SKIP-spdy-go" ] ;;
    curl-http2) command -v curl >/dev/null 2>&1 && curl -V 2>/dev/null | grep -q '^Features:.*HTTP2' ;;
    *) return 1 ;;
    esac
}

# needs GROUP REQ...: true when every REQ is there; otherwise prints "SKIP GROUP: needs ..." (unless --only
# rules the whole group out) and is false. A case file starts with `needs my-group cmd:foo || return 0`.
needs() {
    local group="$1" req missing=()
    shift
    for req in "$@"; do
        have "$req" || missing+=("$req")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ -z "${ONLY:-}" ] || [[ "$group" =~ $ONLY ]]; then
        skip_case "$group" "${missing[*]} missing (Compat/install.sh installs it where the machine can have it; its log: Compat/.work/install.log)"
    fi
    return 1
}

# tls_cert: a self-signed certificate for 127.0.0.1/localhost, made once per run into $WORK_DIR/tls; sets
# TLS_CERT and TLS_KEY.
tls_cert() {
    TLS_CERT="$WORK_DIR/tls/cert.pem"
    TLS_KEY="$WORK_DIR/tls/key.pem"
    [ -s "$TLS_CERT" ] && [ -s "$TLS_KEY" ] && return 0
    mkdir -p "$WORK_DIR/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$TLS_KEY" -out "$TLS_CERT" >"$WORK_DIR/tls/openssl.log" 2>&1
}

# --- URLs ----------------------------------------------------------------------------------------------------

# urlenc STRING: percent-encode everything but unreserved characters (Go rejects ';' in queries).
urlenc() {
    local LC_ALL=C s="$1" out="" c h i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
        [a-zA-Z0-9._~-]) out+="$c" ;;
        *)
            printf -v h '%%%02X' "'$c"
            out+="$h"
            ;;
        esac
    done
    printf '%s' "$out"
}

# command_query ARGV...: "command=a&command=b..."
command_query() {
    local q="" a
    for a in "$@"; do
        q+="${q:+&}command=$(urlenc "$a")"
    done
    printf '%s' "$q"
}

# flags_query STYLE FLAGS: STYLE kubelet (input=1...) or apiserver (stdin=true...); FLAGS a comma list of
# stdin,stdout,stderr,tty.
flags_query() {
    local style="$1" flags=",$2," q=""
    local names
    if [ "$style" = kubelet ]; then
        names="stdin:input stdout:output stderr:error tty:tty"
    else
        names="stdin:stdin stdout:stdout stderr:stderr tty:tty"
    fi
    local pair flag key value
    for pair in $names; do
        flag="${pair%%:*}"
        key="${pair##*:}"
        case "$flags" in *",$flag,"*) ;; *) continue ;; esac
        if [ "$style" = kubelet ]; then value=1; else value=true; fi
        q+="&$key=$value"
    done
    printf '%s' "$q"
}

# --- results -------------------------------------------------------------------------------------------------

pass_case() {
    PASS_COUNT=$((PASS_COUNT + 1))
    echo "PASS $1"
}

fail_case() {
    FAIL_COUNT=$((FAIL_COUNT + 1))
    echo "FAIL $1: $2"
}

skip_case() {
    echo "SKIP $1: $2"
}

summary() {
    echo "$PASS_COUNT passed, $FAIL_COUNT failed"
    [ "$FAIL_COUNT" -eq 0 ]
}

# --- running the clients -------------------------------------------------------------------------------------

# run_cmd NAME STDIN_FILE CMD...: run one case's client bounded by CASE_TIMEOUT; leaves $CASE_DIR/NAME.out and
# .err (REPORT names NAME.report, which the client may write) and sets RC.
run_cmd() {
    local name="$1" input="$2"
    shift 2
    OUT="$CASE_DIR/$name.out"
    ERR="$CASE_DIR/$name.err"
    REPORT="$CASE_DIR/$name.report"
    STATUS="$CASE_DIR/$name.status"
    rm -f "$OUT" "$ERR" "$REPORT" "$STATUS"
    if [ -z "$input" ]; then input=/dev/null; fi
    RC=0
    timeout -k 5 "$CASE_TIMEOUT" "$@" <"$input" >"$OUT" 2>"$ERR" || RC=$?
}

# run_client NAME STDIN_FILE CLIENT_ARGS...: the Go SPDY client (URL last among the args).
run_client() {
    local name="$1" input="$2"
    shift 2
    run_cmd "$name" "$input" "$BIN_DIR/spdy-exec-client" -strict -timeout "$((CASE_TIMEOUT - 5))s" \
        -report "$CASE_DIR/$name.report" -save-error-stream "$CASE_DIR/$name.status" "$@"
}

# run_h2 NAME STDIN_FILE CLIENT_ARGS...: the Python HTTP/2 client (URL last among the args), on $PY.
run_h2() {
    local name="$1" input="$2"
    shift 2
    run_cmd "$name" "$input" "$PY" "$COMPAT_DIR/h2/h2_exec_client.py" --strict --timeout "$((CASE_TIMEOUT - 5))" \
        --report "$CASE_DIR/$name.report" --save-error-stream "$CASE_DIR/$name.status" "$@"
}

# run_curl NAME STDIN_FILE CURL_ARGS...: curl (URL among the args), headers and trailers dumped to $HDR
# (CASE_DIR/NAME.headers: with -D, curl writes HTTP/2 trailers there after the headers).
run_curl() {
    local name="$1" input="$2"
    shift 2
    HDR="$CASE_DIR/$name.headers"
    rm -f "$HDR"
    run_cmd "$name" "$input" curl -sS --max-time "$((CASE_TIMEOUT - 5))" -D "$HDR" "$@"
}

# header_value FILE NAME: the value of the last "NAME: value" line in a curl header dump (case-insensitive,
# CR stripped); trailers come last, so this is the trailer when there is one.
header_value() {
    tr -d '\r' <"$1" 2>/dev/null | sed -n "s/^$2: //Ip" | tail -n 1
}

# report_value KEY: value of KEY in the last run's report ("" when absent).
report_value() {
    [ -f "$REPORT" ] || return 0
    sed -n "s/^$1=//p" "$REPORT" | head -n 1
}

# --- checks: each returns 0 or sets WHY and returns 1 ----------------------------------------------------------

WHY=""

# brief FILE: the first 200 bytes of FILE, one line, for failure messages.
brief() {
    head -c 200 "$1" 2>/dev/null | tr '\n\r' '  '
}

expect_rc() {
    [ "$RC" -eq "$1" ] && return 0
    WHY="exit code $RC, want $1 (stderr: $(brief "$ERR"))"
    return 1
}

expect_out() {
    local want="$1"
    [ "$(cat "$OUT")" = "$want" ] && return 0
    WHY="stdout '$(brief "$OUT")', want '$want'"
    return 1
}

expect_err() {
    local want="$1"
    [ "$(cat "$ERR")" = "$want" ] && return 0
    WHY="stderr '$(brief "$ERR")', want '$want'"
    return 1
}

expect_err_contains() {
    grep -qF -- "$1" "$ERR" && return 0
    WHY="stderr '$(brief "$ERR")' lacks '$1'"
    return 1
}

expect_out_contains() {
    grep -qF -- "$1" "$OUT" && return 0
    WHY="stdout '$(brief "$OUT")' lacks '$1'"
    return 1
}

# expect_status TEXT: the error stream carried exactly TEXT (v4 Status JSON is byte-exact, spec §3).
expect_status() {
    [ -f "$STATUS" ] && [ "$(cat "$STATUS")" = "$1" ] && [ "$(wc -c <"$STATUS")" = "${#1}" ] && return 0
    WHY="error stream '$(brief "$STATUS")', want '$1'"
    return 1
}

# expect_file_contains FILE TEXT: FILE (a header dump, a tool's log) has the line fragment TEXT.
expect_file_contains() {
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    WHY="$(basename "$1") '$(brief "$1")' lacks '$2'"
    return 1
}

# expect_header FILE NAME VALUE: the last NAME header (or trailer) in curl's dump FILE is exactly VALUE.
expect_header() {
    local got
    got="$(header_value "$1" "$2")"
    [ "$got" = "$3" ] && return 0
    WHY="$2 '$got', want '$3' (headers: $(brief "$1"))"
    return 1
}

# expect_sha FILE SHA: FILE's sha256 is SHA.
expect_sha() {
    local got
    got="$(sha256sum <"$1" | cut -d' ' -f1)"
    [ "$got" = "$2" ] && return 0
    WHY="$(basename "$1") sha256 $got ($(stat -c %s "$1") bytes), want $2"
    return 1
}

expect_report() {
    local got
    got="$(report_value "$1")"
    [ "$got" = "$2" ] && return 0
    WHY="$1 '$got', want '$2'"
    return 1
}

# known_failure NAME BUG CHECK...: `check` for a gateway bug that is reported and not fixed yet (BUG says what,
# README "Known gateway bugs" has the bytes): a failing CHECK prints "KNOWN-FAIL NAME: why [BUG]" and counts as
# neither passed nor failed; once every CHECK passes it is an ordinary PASS (then make it a plain check).
known_failure() {
    local name="$1" bug="$2" c
    shift 2
    for c in "$@"; do
        if ! eval "$c"; then
            echo "KNOWN-FAIL $name: $WHY [$bug]"
            return 0
        fi
    done
    pass_case "$name (a known failure no more: make it a plain check)"
}

# check NAME CHECK...: each CHECK is one quoted command line; the first that fails names the failure.
check() {
    local name="$1" c
    shift
    for c in "$@"; do
        if ! eval "$c"; then
            fail_case "$name" "$WHY"
            return 0
        fi
    done
    pass_case "$name"
}

# --- split out: finding kubectl, a case file run on its own -----------------------------------------------------

source "$COMPAT_DIR/lib-kubectl.sh"
source "$COMPAT_DIR/lib-standalone.sh"
