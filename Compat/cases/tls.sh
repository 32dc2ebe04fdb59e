# TLS: a second gateway with --tls-cert/--tls-key (a self-signed certificate made here). HTTP/2 clients get
# ALPN h2 (curl, nghttp, h2load: single-stream or /healthz; the h2 client: channel mode); the Go SPDY client
# offers only http/1.1 in ALPN, as client-go does, and upgrades to SPDY/3.1 inside TLS. Gateway mode only.

in_mode gateway || return 0
needs tls cmd:openssl || return 0

# tls_up: the TLS gateway is running (started by the first case that needs it; a failure to start is one FAIL).
TLS_STATE=""
tls_up() {
    case "$TLS_STATE" in
    up) return 0 ;;
    failed) return 1 ;;
    esac
    TLS_STATE=failed
    if ! tls_cert; then
        fail_case tls-start "openssl could not make a certificate: $(tail -n 2 "$WORK_DIR/tls/openssl.log" | tr '\n' ' ')"
        return 1
    fi
    if ! start_gateway tls-gateway --tls-cert "$TLS_CERT" --tls-key "$TLS_KEY"; then
        fail_case tls-start "the TLS gateway did not listen: $(tail -n 3 "$CASE_DIR/tls-gateway.log" | tr '\n' ' ')"
        return 1
    fi
    TLS_STATE=up
    TLS_BASE="https://127.0.0.1:$GW_PORT"
    TLS_PID="$GW_PID"
}

# tls_url FLAGS ARGV...: the main exec URL on the TLS gateway.
tls_url() {
    local u
    u="$(exec_url main "$@")"
    printf '%s' "$TLS_BASE${u#"$BASE"}"
}

if wanted tls-healthz-alpn-h2 && needs tls-healthz-alpn-h2 cmd:curl && tls_up; then
    run_cmd tls-healthz-alpn-h2 "" curl -sS -k --max-time 10 -w '\n%{http_version}' "$TLS_BASE/healthz"
    check tls-healthz-alpn-h2 'expect_rc 0' 'expect_out "ok
2"'
fi

if [ "$H2_CASES" = 1 ] && have curl-http2; then
    if wanted tls-curl-h2-exit-6 && tls_up; then
        run_curl tls-curl-h2-exit-6 "" -k --http2 "$(tls_url stdout sh -c 'echo over tls; exit 6')"
        check tls-curl-h2-exit-6 'expect_rc 0' 'expect_file_contains "$HDR" "HTTP/2 200"' 'expect_out "over tls"' \
            'expect_header "$HDR" exec-exit-code 6'
    fi

    if wanted tls-curl-h2-stdin-sha256-1MiB && tls_up; then
        run_curl tls-curl-h2-stdin-sha256-1MiB "" -k --http2 --data-binary "@$MIB" "$(tls_url stdin,stdout sha256sum)"
        check tls-curl-h2-stdin-sha256-1MiB 'expect_rc 0' "expect_out '$MIB_SHA  -'" 'expect_header "$HDR" exec-exit-code 0'
    fi
fi

if [ "$H2_CASES" = 1 ] && wanted tls-nghttp-exit-2 && needs tls-nghttp cmd:nghttp && tls_up; then
    run_cmd tls-nghttp-exit-2 "" nghttp -v "$(tls_url stdout sh -c 'echo n; exit 2')"
    got="$(sed -n 's/^.*recv (stream_id=[0-9]*) exec-exit-code: //p' "$OUT" | tail -n 1)"
    check tls-nghttp-exit-2 'expect_rc 0' 'grep -qx n "$OUT" || { WHY="no output line n"; false; }' \
        "[ '$got' = 2 ] || { WHY=\"exec-exit-code '$got', want 2\"; false; }"
fi

if [ "$H2_CASES" = 1 ] && needs tls-h2 py:h2; then
    if wanted tls-h2-channel-stdin-exit-4 && tls_up; then
        printf 'abc' >"$CASE_DIR/tls-abc.in"
        run_h2 tls-h2-channel-stdin-exit-4 "$CASE_DIR/tls-abc.in" --insecure \
            "$(tls_url stdin,stdout,stderr sh -c 'wc -c; echo e >&2; exit 4')"
        check tls-h2-channel-stdin-exit-4 'expect_rc 4' 'expect_out 3' 'expect_err_contains e' \
            "expect_report protocol $V4" 'expect_report streams 4' 'expect_status "$(st_exit 4 "exit status 4")"'
    fi

    if wanted tls-h2-channel-sha256-10MiB && tls_up; then
        run_h2 tls-h2-channel-sha256-10MiB "$BIG" --insecure "$(tls_url stdin,stdout,stderr sha256sum)"
        check tls-h2-channel-sha256-10MiB 'expect_rc 0' "expect_out '$BIG_SHA  -'"
    fi
fi

if needs tls-spdy spdy-go; then
    if wanted tls-spdy-stdin-exit-5 && tls_up; then
        printf 'abc' >"$CASE_DIR/tls-abc.in"
        run_client tls-spdy-stdin-exit-5 "$CASE_DIR/tls-abc.in" -insecure \
            "$(tls_url stdin,stdout,stderr sh -c 'wc -c; exit 5')"
        check tls-spdy-stdin-exit-5 'expect_rc 5' 'expect_out 3' "expect_report protocol $V4" \
            'expect_report http_status 101' 'expect_status "$(st_exit 5 "exit status 5")"'
    fi

    if wanted tls-spdy-roundtrip-10MiB && tls_up; then
        run_client tls-spdy-roundtrip-10MiB "$BIG" -insecure "$(tls_url stdin,stdout,stderr cat)"
        check tls-spdy-roundtrip-10MiB 'expect_rc 0' 'expect_sha "$OUT" "$BIG_SHA"'
    fi
fi

if [ "$H2_CASES" = 1 ] && wanted tls-h2load-healthz && needs tls-h2load cmd:h2load && tls_up; then
    run_cmd tls-h2load-healthz "" h2load -n 20000 -c 10 -m 10 "$TLS_BASE/healthz"
    check tls-h2load-healthz 'expect_rc 0' 'expect_out_contains "Application protocol: h2"' \
        'grep -q "20000 succeeded, 0 failed, 0 errored, 0 timeout" "$OUT" && grep -q "status codes: 20000 2xx" "$OUT" ||
            { WHY="h2load: $(grep -E "^(requests|status codes):" "$OUT" | tr "\n" " ")"; false; }'
fi

if [ "$TLS_STATE" = up ]; then stop_pid "$TLS_PID"; fi
