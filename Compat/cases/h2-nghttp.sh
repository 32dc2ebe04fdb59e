# HTTP/2 with nghttp2's own tools. nghttp: single-stream exec sessions (spec §5 item 7), trailers read from
# `nghttp -v` ("recv (stream_id=N) exec-exit-code: 3"); it gives every URI the same headers, so it cannot open
# channel streams (h2.sh covers those). h2load: /healthz under load; it has no h2c upgrade, so its cleartext runs
# are prior knowledge and HTTP/1.1 (--h1), and tls.sh runs it over ALPN h2. Gateway mode only.

in_mode gateway && [ "$H2_CASES" = 1 ] || return 0

# nghttp_value NAME: the value of the last "recv (stream_id=N) NAME: value" line of `nghttp -v` in $OUT.
nghttp_value() {
    sed -n "s/^.*recv (stream_id=[0-9]*) $1: //p" "$OUT" | tail -n 1
}

expect_nghttp() { # expect_nghttp NAME VALUE
    local got
    got="$(nghttp_value "$1")"
    [ "$got" = "$2" ] && return 0
    WHY="nghttp: $1 '$got', want '$2'"
    return 1
}

expect_no_nghttp_error() {
    ! grep -q '\[ERROR\]' "$OUT" "$ERR" && return 0
    WHY="nghttp: $(grep -h '\[ERROR\]' "$OUT" "$ERR" | head -n 2 | tr '\n' ' ')"
    return 1
}

if needs h2-nghttp cmd:nghttp; then
    if wanted h2-nghttp-prior-exit-3; then
        run_cmd h2-nghttp-prior-exit-3 "" nghttp -v "$(exec_url main stdout sh -c 'echo hi; exit 3')"
        check h2-nghttp-prior-exit-3 'expect_rc 0' 'expect_no_nghttp_error' 'expect_nghttp :status 200' \
            'grep -qx hi "$OUT" || { WHY="no output line hi"; false; }' \
            'expect_nghttp exec-exit-code 3' 'expect_nghttp exec-status "$ST_EXIT3"'
    fi

    if wanted h2-nghttp-upgrade-echo; then
        run_cmd h2-nghttp-upgrade-echo "" nghttp -v -u "$(exec_url main stdout echo hello nghttp)"
        check h2-nghttp-upgrade-echo 'expect_rc 0' 'expect_no_nghttp_error' 'expect_out_contains "HTTP Upgrade success"' \
            'grep -qx "hello nghttp" "$OUT" || { WHY="no output line hello nghttp"; false; }' \
            'grep -q "recv (stream_id=1) exec-exit-code: 0" "$OUT" || { WHY="no exec-exit-code 0 on stream 1"; false; }' \
            'expect_nghttp exec-status "$ST_SUCCESS"'
    fi

    if wanted h2-nghttp-upgrade-alt-form-exit-9; then
        run_cmd h2-nghttp-upgrade-alt-form-exit-9 "" nghttp -v -u \
            "$(exec_url alt stdout,stderr sh -c 'echo on-stderr >&2; exit 9')"
        check h2-nghttp-upgrade-alt-form-exit-9 'expect_rc 0' 'expect_no_nghttp_error' \
            'grep -qx on-stderr "$OUT" || { WHY="stderr not merged into the body"; false; }' \
            'expect_nghttp exec-exit-code 9'
    fi

    if wanted h2-nghttp-prior-two-sessions-one-connection; then
        # Two URIs, one connection, two concurrent sessions with their own output and exit code (§5 item 8).
        run_cmd h2-nghttp-prior-two-sessions-one-connection "" nghttp -v \
            "$(exec_url main stdout sh -c 'echo first; exit 4')" "$(exec_url main stdout sh -c 'echo second; exit 5')"
        check h2-nghttp-prior-two-sessions-one-connection 'expect_rc 0' 'expect_no_nghttp_error' \
            'grep -qx first "$OUT" && grep -qx second "$OUT" || { WHY="both outputs not there"; false; }' \
            'grep -q "recv (stream_id=[0-9]*) exec-exit-code: 4" "$OUT" || { WHY="no exit code 4"; false; }' \
            'grep -q "recv (stream_id=[0-9]*) exec-exit-code: 5" "$OUT" || { WHY="no exit code 5"; false; }' \
            '! grep -q "recv GOAWAY" "$OUT" || { WHY="GOAWAY from the gateway"; false; }'
    fi

    if wanted h2-nghttp-prior-stdin-sha256-1MiB; then
        # -d sends the file as the request body. (With -u, nghttp upgrades with "OPTIONS *" first, which is no
        # exec request; the gateway answers that 404 in HTTP/1.1, so stdin over the upgrade is curl's case.)
        run_cmd h2-nghttp-prior-stdin-sha256-1MiB "" nghttp -v -d "$MIB" "$(exec_url main stdin,stdout sha256sum)"
        check h2-nghttp-prior-stdin-sha256-1MiB 'expect_rc 0' 'expect_no_nghttp_error' \
            "grep -qx '$MIB_SHA  -' \"\$OUT\" || { WHY='no sha256 line $MIB_SHA'; false; }" \
            'expect_nghttp exec-exit-code 0'
    fi
fi

# expect_h2load N: h2load's summary says all N requests succeeded with 2xx.
expect_h2load() {
    grep -q "requests: $1 total, $1 started, $1 done, $1 succeeded, 0 failed, 0 errored, 0 timeout" "$OUT" &&
        grep -q "status codes: $1 2xx, 0 3xx, 0 4xx, 0 5xx" "$OUT" && return 0
    WHY="h2load: $(grep -E '^(requests|status codes):' "$OUT" | tr '\n' ' ') rc $RC"
    return 1
}

if needs h2load cmd:h2load; then
    if wanted h2load-prior-healthz; then
        run_cmd h2load-prior-healthz "" h2load -n 20000 -c 10 -m 10 "$BASE/healthz"
        check h2load-prior-healthz 'expect_rc 0' 'expect_h2load 20000' 'expect_out_contains "Application protocol: h2c"'
    fi

    if wanted h2load-h1-healthz; then
        run_cmd h2load-h1-healthz "" h2load --h1 -n 20000 -c 10 "$BASE/healthz"
        check h2load-h1-healthz 'expect_rc 0' 'expect_h2load 20000' 'expect_out_contains "Application protocol: http/1.1"'
    fi

    if wanted h2load-prior-exec-multiplexed; then
        # Many single-stream sessions per connection (spec §5 item 8): 4 connections, 4 streams each at once.
        run_cmd h2load-prior-exec-multiplexed "" h2load -n 200 -c 4 -m 4 "$(exec_url main stdout true)"
        check h2load-prior-exec-multiplexed 'expect_rc 0' 'expect_h2load 200'
    fi

    if wanted h2load-healthy-after; then
        check h2load-healthy-after 'healthy "$PORT" || { WHY="/healthz not ok after the load"; false; }'
    fi
fi
