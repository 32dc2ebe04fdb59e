# WebSocket generation cases (spec §6), against the gateway only. Sourced by run.sh, which defines exec_url,
# wanted, the data files, the version names and the Status texts.
#   ws-*  : ws/ws_exec_client.py on the `websocket-client` package (v5 with the close signal, and every
#           other subprotocol)
#   k8s-* : ws/k8s_exec.py, the official `kubernetes` Python client (kubernetes.stream.stream on
#           CoreV1Api.connect_get_namespaced_pod_exec) with the gateway as its API server
# Both packages are expected in Compat/.work/venv (run.sh installs them); python3 is tried otherwise.

if [ "$MODE" != gateway ]; then
    return 0
fi

WS_PY="$WORK_DIR/venv/bin/python"
[ -x "$WS_PY" ] || WS_PY=python3
WS_CASES=1
K8S_CASES=1
"$WS_PY" -c 'import websocket' 2>/dev/null || {
    skip_case ws "the websocket-client package is not installed for $WS_PY"
    WS_CASES=0
}
"$WS_PY" -c 'import kubernetes.stream' 2>/dev/null || {
    skip_case k8s "the kubernetes package is not installed for $WS_PY"
    K8S_CASES=0
}
V5=v5.channel.k8s.io
V4B64=v4.base64.channel.k8s.io
V1B64=base64.channel.k8s.io

# run_ws NAME STDIN_FILE CLIENT_ARGS...: the websocket-client exec client (URL last among the args).
run_ws() {
    local name="$1" input="$2"
    shift 2
    run_cmd "$name" "$input" "$WS_PY" "$COMPAT_DIR/ws/ws_exec_client.py" --timeout "$((CASE_TIMEOUT - 5))" \
        --report "$CASE_DIR/$name.report" --save-error-stream "$CASE_DIR/$name.status" "$@"
}

# run_k8s NAME STDIN_FILE CLIENT_ARGS...: the kubernetes client (POD -- COMMAND... last).
run_k8s() {
    local name="$1" input="$2"
    shift 2
    run_cmd "$name" "$input" "$WS_PY" "$COMPAT_DIR/ws/k8s_exec.py" --server "$BASE" --timeout "$((CASE_TIMEOUT - 10))" \
        --report "$CASE_DIR/$name.report" "$@"
}

if [ "$WS_CASES" = 1 ]; then

if wanted ws-echo; then
    run_ws ws-echo "" "$(exec_url main stdout,stderr echo hello)"
    check ws-echo 'expect_rc 0' 'expect_out hello' 'expect_err ""' "expect_report protocol $V5" 'expect_status "$ST_SUCCESS"' \
        'expect_report close_code 1000'
fi

if wanted ws-exit-3; then
    run_ws ws-exit-3 "" "$(exec_url main stdout,stderr sh -c 'exit 3')"
    check ws-exit-3 'expect_rc 3' 'expect_out ""' 'expect_err "command terminated with exit code 3"' 'expect_status "$ST_EXIT3"'
fi

if wanted ws-exit-signal; then
    run_ws ws-exit-signal "" "$(exec_url main stdout,stderr sh -c 'kill -9 $$')"
    check ws-exit-signal 'expect_rc 137' 'expect_status "$ST_KILLED"'
fi

if wanted ws-stderr-separate; then
    run_ws ws-stderr-separate "" "$(exec_url alt stdout,stderr sh -c 'echo out; echo err >&2; echo out2')"
    check ws-stderr-separate 'expect_rc 0' 'expect_out "out
out2"' 'expect_err err'
fi

if wanted ws-stdin-close-sha256; then
    # v5: stdin ends by the close signal [255, 0], so sha256sum sees EOF.
    run_ws ws-stdin-close-sha256 "$BIG" "$(exec_url main stdin,stdout,stderr sha256sum)"
    check ws-stdin-close-sha256 'expect_rc 0' "expect_out '$BIG_SHA  -'" 'expect_err ""' "expect_report protocol $V5"
fi

if wanted ws-roundtrip-10MiB; then
    run_ws ws-roundtrip-10MiB "$BIG" "$(exec_url main stdin,stdout,stderr cat)"
    got="$(sha256sum <"$OUT" | cut -d' ' -f1)"
    check ws-roundtrip-10MiB 'expect_rc 0' \
        "[ '$got' = '$BIG_SHA' ] || { WHY=\"stdout sha256 $got ($(stat -c %s "$OUT") bytes), want $BIG_SHA\"; false; }"
fi

if wanted ws-v4-stdin-stays-open; then
    # v4 has no stdin EOF: the command must end by itself (here after reading 3 bytes).
    printf 'abcdef' >"$CASE_DIR/abcdef.in"
    run_ws ws-v4-stdin-stays-open "$CASE_DIR/abcdef.in" --protocols "$V4" \
        "$(exec_url main stdin,stdout,stderr sh -c 'head -c 3; echo; echo done')"
    check ws-v4-stdin-stays-open 'expect_rc 0' "expect_report protocol $V4" 'expect_out "abc
done"' 'expect_status "$ST_SUCCESS"'
fi

if wanted ws-v4-base64; then
    run_ws ws-v4-base64 "" --protocols "$V4B64" "$(exec_url main stdout,stderr sh -c 'echo hi; echo there >&2; exit 3')"
    check ws-v4-base64 'expect_rc 3' "expect_report protocol $V4B64" 'expect_out hi' \
        'expect_err "there
command terminated with exit code 3"' 'expect_status "$ST_EXIT3"'
fi

if wanted ws-channel-k8s-io-error-text; then
    run_ws ws-channel-k8s-io-error-text "" --protocols "$V1" "$(exec_url main stdout,stderr sh -c 'echo hi; exit 3')"
    check ws-channel-k8s-io-error-text "expect_report protocol $V1" 'expect_out hi' 'expect_rc 1' \
        'expect_err_contains "error executing remote command: command terminated with non-zero exit code"' \
        'expect_status "command terminated with non-zero exit code: exit status 3"'
fi

if wanted ws-base64-channel-success; then
    run_ws ws-base64-channel-success "" --protocols "$V1B64" "$(exec_url main stdout,stderr echo ok)"
    check ws-base64-channel-success "expect_report protocol $V1B64" 'expect_rc 0' 'expect_out ok' 'expect_status ""'
fi

if wanted ws-no-subprotocol; then
    run_ws ws-no-subprotocol "" --protocols "" "$(exec_url alt stdout,stderr echo unnamed)"
    check ws-no-subprotocol 'expect_rc 0' 'expect_out unnamed' 'expect_report protocol ""' 'expect_status ""'
fi

if wanted ws-client-order-wins; then
    run_ws ws-client-order-wins "" --protocols "v9.channel.k8s.io,$V4,$V5" "$(exec_url main stdout echo order)"
    check ws-client-order-wins "expect_report protocol $V4" 'expect_rc 0' 'expect_out order'
fi

if wanted ws-unknown-protocol-403; then
    run_ws ws-unknown-protocol-403 "" --protocols v9.channel.k8s.io "$(exec_url main stdout echo never)"
    check ws-unknown-protocol-403 'expect_report http_status 403' 'expect_rc 1' 'expect_out ""' \
        'expect_err_contains "requested protocol(s) are not supported"'
fi

if wanted ws-no-streams-400; then
    run_ws ws-no-streams-400 "" "$(exec_url main "" echo never)"
    check ws-no-streams-400 'expect_report http_status 400' 'expect_rc 1'
fi

if wanted ws-bad-version-426; then
    code="$(curl -s -o "$CASE_DIR/ws-bad-version-426.body" -D "$CASE_DIR/ws-bad-version-426.head" -w '%{http_code}' \
        --max-time 10 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 8' \
        -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$(exec_url main stdout echo never)" 2>/dev/null)"
    check ws-bad-version-426 "[ '$code' = 426 ] || { WHY=\"HTTP status '$code', want 426\"; false; }" \
        "grep -qi '^Sec-WebSocket-Version: 13' '$CASE_DIR/ws-bad-version-426.head' || { WHY='no Sec-WebSocket-Version: 13 in the answer'; false; }"
fi

if wanted ws-tty-resize; then
    if [ "$TTY_CASES" = 1 ]; then
        poll='i=0; while [ $i -lt 50 ]; do s=$(stty size); [ "$s" = "40 100" ] && break; i=$((i+1)); sleep 0.1; done; echo "size $s"'
        run_ws ws-tty-resize "" --resize 100x40 "$(exec_url main stdout,tty sh -c "$poll")"
        check ws-tty-resize 'expect_rc 0' 'expect_out_contains "size 40 100"'
    else
        skip_case ws-tty-resize "--no-tty"
    fi
fi

fi # WS_CASES

if [ "$K8S_CASES" = 1 ]; then

if wanted k8s-echo; then
    run_k8s k8s-echo "" --container app --stderr demo -- echo hello
    check k8s-echo 'expect_rc 0' 'expect_out hello' 'expect_err ""' "expect_report protocol $V5" 'expect_report returncode 0'
fi

if wanted k8s-exit-3; then
    run_k8s k8s-exit-3 "" --container app --stderr demo -- sh -c 'echo before; exit 3'
    check k8s-exit-3 'expect_rc 3' 'expect_out before' 'expect_report returncode 3'
fi

if wanted k8s-stderr-separate; then
    run_k8s k8s-stderr-separate "" --stderr demo -- sh -c 'echo out; echo err >&2'
    check k8s-stderr-separate 'expect_rc 0' 'expect_out out' 'expect_err err'
fi

if wanted k8s-stdin-close; then
    printf 'abcdef' >"$CASE_DIR/abcdef.in"
    run_k8s k8s-stdin-close "$CASE_DIR/abcdef.in" --stdin --close-stdin --stderr demo -- wc -c
    check k8s-stdin-close 'expect_rc 0' 'expect_out 6' "expect_report protocol $V5"
fi

fi # K8S_CASES
