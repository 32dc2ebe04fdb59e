# HTTP/2 generation cases (spec §5), run with the Python h2 client (h2/h2_exec_client.py). Sourced by run.sh.
# Names start with h2-; "upgrade" cases use the h2c upgrade, the others prior knowledge. Gateway mode (unless
# --no-h2) and --h2-selftest. The channel-stream mode is only covered here: nghttp and curl cannot give each
# stream its own streamtype header.

in_mode gateway h2-selftest && [ "$H2_CASES" = 1 ] || return 0
needs h2 py:h2 || return 0

if wanted h2-echo; then
    run_h2 h2-echo "" "$(exec_url main stdout,stderr echo hello)"
    check h2-echo 'expect_rc 0' 'expect_out hello' 'expect_err ""' "expect_report protocol $V4" 'expect_report streams 3' \
        'expect_status "$ST_SUCCESS"'
fi

if wanted h2-exit-3; then
    run_h2 h2-exit-3 "" "$(exec_url main stdout,stderr sh -c 'exit 3')"
    check h2-exit-3 'expect_rc 3' 'expect_out ""' 'expect_err "command terminated with exit code 3"' 'expect_status "$ST_EXIT3"'
fi

if wanted h2-stderr-separate; then
    run_h2 h2-stderr-separate "" "$(exec_url alt stdout,stderr sh -c 'echo out; echo err >&2')"
    check h2-stderr-separate 'expect_rc 0' 'expect_out out' 'expect_err err'
fi

if wanted h2-stdin-sha256; then
    run_h2 h2-stdin-sha256 "$BIG" "$(exec_url main stdin,stdout,stderr sha256sum)"
    check h2-stdin-sha256 'expect_rc 0' "expect_out '$BIG_SHA  -'"
fi

if wanted h2-roundtrip-10MiB; then
    run_h2 h2-roundtrip-10MiB "$BIG" "$(exec_url main stdin,stdout,stderr cat)"
    got="$(sha256sum <"$OUT" | cut -d' ' -f1)"
    check h2-roundtrip-10MiB 'expect_rc 0' \
        "[ '$got' = '$BIG_SHA' ] || { WHY=\"stdout sha256 $got ($(stat -c %s "$OUT") bytes), want $BIG_SHA\"; false; }"
fi

# A client that announces SETTINGS_MAX_FRAME_SIZE 1 MiB gets output in frames above 16 KiB (up to the gateway's
# 128 KiB cap); one that keeps the default gets 16 KiB frames. h2 checks every frame against what it announced.
if in_mode gateway && wanted h2-large-frames; then
    run_h2 h2-large-frames "$BIG" --max-frame-size 1048576 "$(exec_url main stdin,stdout,stderr cat)"
    got="$(sha256sum <"$OUT" | cut -d' ' -f1)"
    check h2-large-frames 'expect_rc 0' \
        "[ '$got' = '$BIG_SHA' ] || { WHY=\"stdout sha256 $got, want $BIG_SHA\"; false; }" \
        'f="$(report_value largest_data_frame)"; [ "${f:-0}" -gt 16384 ] && [ "$f" -le 131072 ] || { WHY="largest DATA frame ${f:-none}, want 16385..131072"; false; }'
fi

if in_mode gateway && wanted h2-default-frames; then
    run_h2 h2-default-frames "" "$(exec_url main stdout,stderr head -c 1048576 /dev/zero)"
    check h2-default-frames 'expect_rc 0' 'expect_report largest_data_frame 16384'
fi

if wanted h2-negotiate-v2; then
    run_h2 h2-negotiate-v2 "" --versions "$V2" "$(exec_url main stdout,stderr sh -c 'echo hi; exit 3')"
    check h2-negotiate-v2 "expect_report protocol $V2" 'expect_out hi' 'expect_rc 1' \
        'expect_err_contains "error executing remote command: command terminated with non-zero exit code"'
fi

if wanted h2-unknown-version-403; then
    run_h2 h2-unknown-version-403 "" --versions v9.channel.k8s.io "$(exec_url main stdout echo never)"
    check h2-unknown-version-403 'expect_report http_status 403' 'expect_rc 1' 'expect_out ""'
fi

if wanted h2-no-streams-400; then
    run_h2 h2-no-streams-400 "" "$(exec_url main "" echo never)"
    check h2-no-streams-400 'expect_report http_status 400' 'expect_rc 1'
fi

if wanted h2-upgrade-exit-5; then
    run_h2 h2-upgrade-exit-5 "" --upgrade "$(exec_url main stdout,stderr sh -c 'echo up; exit 5')"
    check h2-upgrade-exit-5 'expect_report http_status 101' "expect_report protocol $V4" 'expect_out up' 'expect_rc 5'
fi

if wanted h2-upgrade-stdin; then
    printf 'abc' >"$CASE_DIR/abc.in"
    run_h2 h2-upgrade-stdin "$CASE_DIR/abc.in" --upgrade "$(exec_url main stdin,stdout,stderr wc -c)"
    check h2-upgrade-stdin 'expect_rc 0' 'expect_out 3'
fi

if wanted h2-upgrade-403; then
    run_h2 h2-upgrade-403 "" --upgrade --versions v9.channel.k8s.io "$(exec_url main stdout echo never)"
    check h2-upgrade-403 'expect_report http_status 403' 'expect_rc 1'
fi

if wanted h2-single-stream-exit-4; then
    run_h2 h2-single-stream-exit-4 "" --single-stream "$(exec_url main stdout,stderr sh -c 'echo single; echo e >&2; exit 4')"
    check h2-single-stream-exit-4 'expect_rc 4' 'expect_out_contains single' 'expect_out_contains e'
fi

if wanted h2-single-stream-stdin; then
    run_h2 h2-single-stream-stdin "$BIG" --single-stream "$(exec_url main stdin,stdout sha256sum)"
    check h2-single-stream-stdin 'expect_rc 0' "expect_out '$BIG_SHA  -'"
fi

if wanted h2-upgrade-single-stream; then
    run_h2 h2-upgrade-single-stream "" --upgrade --single-stream "$(exec_url main stdout echo plain)"
    check h2-upgrade-single-stream 'expect_rc 0' 'expect_out plain' 'expect_report http_status 101'
fi

if wanted h2-tty-resize && [ "$MODE" = gateway ]; then
    if [ "$TTY_CASES" = 1 ]; then
        poll='i=0; while [ $i -lt 50 ]; do s=$(stty size); [ "$s" = "40 100" ] && break; i=$((i+1)); sleep 0.1; done; echo "size $s"'
        run_h2 h2-tty-resize "" --resize 100x40 "$(exec_url main stdout,tty sh -c "$poll")"
        check h2-tty-resize 'expect_rc 0' 'expect_out_contains "size 40 100"'
    else
        skip_case h2-tty-resize "--no-tty"
    fi
fi
