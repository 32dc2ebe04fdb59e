# A client that vanishes mid-session (killed with SIGKILL, or cut by its own timeout) must end the remote command
# (spec §3 "Client gone → end the backend session"). The command writes its pid to a file and sleeps 45 s; the
# clients are killed after 2 s; each case then polls (20 s at most) until that pid is gone. The clients run side
# by side so that the cases cost one wait. Gateway mode only.

in_mode gateway || return 0

# The remote command: sh -c 'echo $$ >"$0"; exec sleep 45' PIDFILE (the pid stays the sleeping process's).
gone_url() { # gone_url FLAGS PIDFILE
    exec_url main "$1" sh -c 'echo $$ >"$0"; exec sleep 45' "$2"
}

gone_names=()
gone_clients=()
gone_start() { # gone_start NAME CMD...: the client, killed after 2 s
    local name="$1"
    shift
    rm -f "$CASE_DIR/$name.pid"
    timeout -s KILL 2 "$@" </dev/null >"$CASE_DIR/$name.out" 2>"$CASE_DIR/$name.err" &
    gone_clients+=("$!")
    gone_names+=("$name")
}

if have spdy-go; then
    wanted spdy-client-killed-ends-command &&
        gone_start spdy-client-killed-ends-command "$BIN_DIR/spdy-exec-client" \
            "$(gone_url stdout,stderr "$CASE_DIR/spdy-client-killed-ends-command.pid")"
    [ "$TTY_CASES" = 1 ] && wanted spdy-tty-client-killed-ends-command &&
        gone_start spdy-tty-client-killed-ends-command "$BIN_DIR/spdy-exec-client" \
            "$(gone_url stdout,tty "$CASE_DIR/spdy-tty-client-killed-ends-command.pid")"
fi
if [ "$H2_CASES" = 1 ] && have py:h2 && wanted h2-client-killed-ends-command; then
    gone_start h2-client-killed-ends-command "$PY" "$COMPAT_DIR/h2/h2_exec_client.py" \
        "$(gone_url stdout,stderr "$CASE_DIR/h2-client-killed-ends-command.pid")"
fi
if [ "$H2_CASES" = 1 ] && have curl-http2 && wanted h2-curl-timeout-ends-command; then
    gone_start h2-curl-timeout-ends-command curl -sS --http2-prior-knowledge --max-time 1 \
        "$(gone_url stdout "$CASE_DIR/h2-curl-timeout-ends-command.pid")"
fi

for pid in "${gone_clients[@]}"; do
    wait "$pid" 2>/dev/null
done

# Poll every case's pid together, 20 s at most in all.
declare -A gone_pid=()
for name in "${gone_names[@]}"; do
    gone_pid[$name]="$(cat "$CASE_DIR/$name.pid" 2>/dev/null)"
done
for _ in $(seq 200); do
    alive=0
    for name in "${gone_names[@]}"; do
        p="${gone_pid[$name]}"
        [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
done
for name in "${gone_names[@]}"; do
    p="${gone_pid[$name]}"
    if [ -z "$p" ]; then
        fail_case "$name" "the command never started (client stderr: $(brief "$CASE_DIR/$name.err"))"
    elif kill -0 "$p" 2>/dev/null; then
        fail_case "$name" "the command (pid $p) still runs 20 s after its client went away"
    else
        pass_case "$name"
    fi
done
