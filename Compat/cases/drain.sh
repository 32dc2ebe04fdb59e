# SIGTERM while sessions run (a rolling restart): /readyz answers 503 and new sessions are refused (503 with
# Retry-After) while the running sessions finish with their output and exit status (--drain-timeout, 30 s by
# default); then the gateway exits. One gateway of its own; SPDY, HTTP/2 channel mode and curl single-stream
# sessions side by side. No timing guesses: each command says it has started (a file), and finishes only once the
# test lets it (another file), after the refusal is seen. Gateway mode only.

in_mode gateway || return 0

drain_names=()
drain_clients=()
drain_go="$CASE_DIR/drain.go"

# drain_url FLAGS NAME: the command marks NAME.started, waits (30 s at most) for the go file, prints "done NAME".
drain_url() {
    exec_url main "$1" sh -c 'echo started >"$0"; i=0; while [ ! -e "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; echo "done $2"' \
        "$CASE_DIR/$2.started" "$drain_go" "$2"
}

drain_start() { # drain_start NAME CMD...
    local name="$1"
    shift
    rm -f "$CASE_DIR/$name.started"
    timeout -k 5 "$CASE_TIMEOUT" "$@" </dev/null >"$CASE_DIR/$name.out" 2>"$CASE_DIR/$name.err" &
    drain_clients+=("$!")
    drain_names+=("$name")
}

drain_wanted=0
for n in drain-spdy-session-finishes drain-h2-session-finishes drain-curl-session-finishes drain-gateway-exits; do
    wanted "$n" && drain_wanted=1
done

if [ "$drain_wanted" = 1 ]; then
    rm -f "$drain_go"
    if ! start_gateway drain-gateway; then
        fail_case drain-start "the gateway did not listen: $(tail -n 3 "$CASE_DIR/drain-gateway.log" | tr '\n' ' ')"
    else
        drain_port="$GW_PORT"
        drain_pid="$GW_PID"
        drain_base="http://127.0.0.1:$drain_port"
        drain_u() { local u; u="$(drain_url "$@")"; printf '%s' "$drain_base${u#"$BASE"}"; }
        have spdy-go && drain_start drain-spdy-session-finishes "$BIN_DIR/spdy-exec-client" \
            "$(drain_u stdout,stderr drain-spdy-session-finishes)"
        [ "$H2_CASES" = 1 ] && have py:h2 && drain_start drain-h2-session-finishes "$PY" \
            "$COMPAT_DIR/h2/h2_exec_client.py" "$(drain_u stdout,stderr drain-h2-session-finishes)"
        [ "$H2_CASES" = 1 ] && have curl-http2 && drain_start drain-curl-session-finishes curl -sS \
            --http2-prior-knowledge -D "$CASE_DIR/drain-curl-session-finishes.headers" \
            "$(drain_u stdout drain-curl-session-finishes)"
        started=1
        for name in "${drain_names[@]}"; do
            wait_file "$CASE_DIR/$name.started" || started=0
        done
        kill -TERM "$drain_pid" 2>/dev/null
        # /readyz fails at once and a new session is refused, the listener still answering; then the commands
        # may finish.
        refused=0
        for _ in $(seq 100); do
            if [ "$(curl -s -o /dev/null -w '%{http_code}' "$drain_base/readyz")" = 503 ] &&
                [ "$(curl -s -o "$CASE_DIR/drain-refused.body" -D "$CASE_DIR/drain-refused.headers" -w '%{http_code}' \
                    -X POST -H 'Connection: Upgrade' -H 'Upgrade: SPDY/3.1' \
                    -H 'X-Stream-Protocol-Version: v4.channel.k8s.io' "$(drain_u stdout drain-refused)")" = 503 ]; then
                refused=1
                break
            fi
            sleep 0.1
        done
        touch "$drain_go"
        for i in "${!drain_clients[@]}"; do
            rc=0
            wait "${drain_clients[$i]}" || rc=$?
            name="${drain_names[$i]}"
            wanted "$name" || continue
            OUT="$CASE_DIR/$name.out"
            ERR="$CASE_DIR/$name.err"
            RC="$rc"
            if [ "$started" = 0 ]; then
                fail_case "$name" "the sessions did not all start (stderr: $(brief "$ERR"))"
                continue
            fi
            case "$name" in
            drain-curl-*)
                check "$name" 'expect_rc 0' "expect_out 'done $name'" \
                    'expect_header "$CASE_DIR/$name.headers" exec-exit-code 0' ;;
            *) check "$name" 'expect_rc 0' "expect_out 'done $name'" ;;
            esac
        done
        exited=0
        for _ in $(seq 100); do
            kill -0 "$drain_pid" 2>/dev/null || { exited=1; break; }
            sleep 0.1
        done
        if wanted drain-gateway-exits; then
            check drain-gateway-exits \
                "[ $refused = 1 ] || { WHY='no /readyz 503 and 503 refusal of a new session within 10 s of SIGTERM'; false; }" \
                'expect_header "$CASE_DIR/drain-refused.headers" retry-after 1' \
                'expect_file_contains "$CASE_DIR/drain-refused.body" "the gateway is shutting down"' \
                "[ $exited = 1 ] || { WHY='still running 10 s after its sessions ended'; false; }"
        fi
        stop_pid "$drain_pid"
    fi
fi
