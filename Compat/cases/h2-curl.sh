# HTTP/2 single-stream exec (spec §5 item 7) with curl, a plain HTTP/2 client: request body = stdin, response
# body = output, trailers exec-exit-code / exec-status (curl -D writes the trailers after the headers).
# "upgrade" = curl --http2 (h2c upgrade from HTTP/1.1), "prior" = --http2-prior-knowledge. Gateway mode only.

in_mode gateway && [ "$H2_CASES" = 1 ] || return 0
needs h2-curl curl-http2 || return 0

if wanted h2-curl-upgrade-date; then
    run_curl h2-curl-upgrade-date "" --http2 "$(exec_url main stdout date)"
    check h2-curl-upgrade-date 'expect_rc 0' 'expect_file_contains "$HDR" "HTTP/1.1 101"' \
        'expect_file_contains "$HDR" "HTTP/2 200"' "expect_out_contains $(date +%Y)" \
        'expect_header "$HDR" exec-exit-code 0' 'expect_header "$HDR" exec-status "$ST_SUCCESS"'
fi

if wanted h2-curl-prior-echo; then
    run_curl h2-curl-prior-echo "" --http2-prior-knowledge "$(exec_url main stdout echo hello curl)"
    check h2-curl-prior-echo 'expect_rc 0' 'expect_file_contains "$HDR" "HTTP/2 200"' 'expect_out "hello curl"' \
        'expect_header "$HDR" exec-exit-code 0' 'expect_header "$HDR" exec-status "$ST_SUCCESS"'
fi

if wanted h2-curl-prior-exit-3; then
    run_curl h2-curl-prior-exit-3 "" --http2-prior-knowledge "$(exec_url main stdout sh -c 'echo hi; exit 3')"
    check h2-curl-prior-exit-3 'expect_rc 0' 'expect_out hi' 'expect_header "$HDR" exec-exit-code 3' \
        'expect_header "$HDR" exec-status "$ST_EXIT3"'
fi

if wanted h2-curl-upgrade-exit-7-alt-form; then
    run_curl h2-curl-upgrade-exit-7-alt-form "" --http2 "$(exec_url alt stdout sh -c 'echo alt; exit 7')"
    check h2-curl-upgrade-exit-7-alt-form 'expect_rc 0' 'expect_file_contains "$HDR" "HTTP/1.1 101"' 'expect_out alt' \
        'expect_header "$HDR" exec-exit-code 7'
fi

if wanted h2-curl-prior-signal-137; then
    run_curl h2-curl-prior-signal-137 "" --http2-prior-knowledge "$(exec_url main stdout sh -c 'kill -9 $$')"
    check h2-curl-prior-signal-137 'expect_rc 0' 'expect_out ""' 'expect_header "$HDR" exec-exit-code 137' \
        'expect_header "$HDR" exec-status "$ST_KILLED"'
fi

if wanted h2-curl-prior-stderr-merged; then
    run_curl h2-curl-prior-stderr-merged "" --http2-prior-knowledge \
        "$(exec_url main stdout,stderr sh -c 'echo to-out; echo to-err >&2; exit 1')"
    check h2-curl-prior-stderr-merged 'expect_rc 0' 'expect_out_contains to-out' 'expect_out_contains to-err' \
        'expect_header "$HDR" exec-exit-code 1'
fi

if wanted h2-curl-prior-stdin-sha256-1MiB; then
    run_curl h2-curl-prior-stdin-sha256-1MiB "" --http2-prior-knowledge --data-binary "@$MIB" \
        "$(exec_url main stdin,stdout sha256sum)"
    check h2-curl-prior-stdin-sha256-1MiB 'expect_rc 0' "expect_out '$MIB_SHA  -'" 'expect_header "$HDR" exec-exit-code 0'
fi

if wanted h2-curl-upgrade-stdin-cat-1MiB; then
    run_curl h2-curl-upgrade-stdin-cat-1MiB "" --http2 --data-binary "@$MIB" "$(exec_url main stdin,stdout cat)"
    check h2-curl-upgrade-stdin-cat-1MiB 'expect_rc 0' 'expect_file_contains "$HDR" "HTTP/1.1 101"' \
        'expect_sha "$OUT" "$MIB_SHA"' 'expect_header "$HDR" exec-exit-code 0'
fi

if wanted h2-curl-prior-stdin-streamed-10MiB; then
    # -T - streams stdin of unknown length as DATA frames (-X POST: exec takes GET or POST, -T alone is PUT).
    run_curl h2-curl-prior-stdin-streamed-10MiB "$BIG" --http2-prior-knowledge -X POST -T - "$(exec_url main stdin,stdout cat)"
    check h2-curl-prior-stdin-streamed-10MiB 'expect_rc 0' 'expect_file_contains "$HDR" "HTTP/2 200"' \
        'expect_sha "$OUT" "$BIG_SHA"' 'expect_header "$HDR" exec-exit-code 0'
fi

if wanted h2-curl-upgrade-body-over-1MiB-413; then
    # Over the upgrade, stdin travels as the HTTP/1.1 request body, which the gateway bounds (1 MiB): a clear 413.
    run_curl h2-curl-upgrade-body-over-1MiB-413 "" --http2 --data-binary "@$BIG" "$(exec_url main stdin,stdout cat)"
    check h2-curl-upgrade-body-over-1MiB-413 'expect_rc 0' 'expect_file_contains "$HDR" "HTTP/1.1 413"' \
        'expect_out_contains "\"code\":413"'
fi

if wanted h2-curl-prior-body-without-stdin; then
    # No stdin asked: the request body is ignored and the command's stdin is empty.
    run_curl h2-curl-prior-body-without-stdin "" --http2-prior-knowledge --data-binary 'not for the command' \
        "$(exec_url main stdout sh -c 'cat; echo done')"
    check h2-curl-prior-body-without-stdin 'expect_rc 0' 'expect_out done' 'expect_header "$HDR" exec-exit-code 0'
fi

if wanted h2-curl-prior-no-streams-400; then
    run_curl h2-curl-prior-no-streams-400 "" --http2-prior-knowledge "$(exec_url main "" echo never)"
    check h2-curl-prior-no-streams-400 'expect_rc 0' 'expect_file_contains "$HDR" "HTTP/2 400"' \
        'expect_out_contains "you must specify at least 1 of stdin, stdout, stderr"' \
        '[ -z "$(header_value "$HDR" exec-exit-code)" ] || { WHY="exec-exit-code on a refused request"; false; }'
fi

if wanted h2-curl-upgrade-no-streams-400; then
    # Refused before the upgrade: a plain HTTP/1.1 answer with a Status body.
    run_curl h2-curl-upgrade-no-streams-400 "" --http2 "$(exec_url main "" echo never)"
    check h2-curl-upgrade-no-streams-400 'expect_rc 0' 'expect_file_contains "$HDR" "HTTP/1.1 400"' \
        'expect_out_contains "\"code\":400"'
fi

if wanted h2-curl-two-urls-one-connection; then
    # curl URL1 URL2 reuses its HTTP/2 connection: each URL is a session of its own (spec §5 item 8). Through
    # the h2c upgrade: curl 7.88's prior-knowledge reuse is broken against any server (curl/curl#10634, fixed
    # in 8.0), so that form is checked only with a newer curl.
    run_curl h2-curl-two-urls-one-connection "" --http2 \
        "$(exec_url main stdout echo one)" "$(exec_url main stdout sh -c 'echo two; exit 6')"
    check h2-curl-two-urls-one-connection 'expect_rc 0' 'expect_out "$(printf "one\ntwo")"' \
        '[ "$(grep -c "HTTP/1.1 101" "$HDR")" = 1 ] || { WHY="not one upgraded connection"; false; }' \
        'expect_header "$HDR" exec-exit-code 6'
fi

if wanted h2-curl-prior-two-urls; then
    if [ "$(curl --version | sed -n "1s/^curl \([0-9]*\).*/\1/p")" -ge 8 ]; then
        run_curl h2-curl-prior-two-urls "" --http2-prior-knowledge \
            "$(exec_url main stdout echo one)" "$(exec_url main stdout echo two)"
        check h2-curl-prior-two-urls 'expect_rc 0' 'expect_out "$(printf "one\ntwo")"'
    else
        skip_case h2-curl-prior-two-urls "curl $(curl --version | head -n 1 | cut -d" " -f2) cannot reuse a prior-knowledge connection (curl/curl#10634)"
    fi
fi
