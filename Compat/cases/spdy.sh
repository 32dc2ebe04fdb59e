# SPDY/3.1 cases, run with the Go client (spdy-exec-client). Sourced by run.sh, which defines exec_url, wanted,
# the data files and the version names. Gateway and direct modes.

in_mode gateway direct || return 0
needs spdy spdy-go || return 0

if wanted echo; then
    run_client echo "" "$(exec_url main stdout,stderr echo hello)"
    check echo 'expect_rc 0' 'expect_out hello' 'expect_err ""' "expect_report protocol $V4" 'expect_status "$ST_SUCCESS"'
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
    check exit-3 'expect_rc 3' 'expect_out ""' 'expect_err "command terminated with exit code 3"' 'expect_status "$ST_EXIT3"'
fi

if wanted exit-signal; then
    run_client exit-signal "" "$(exec_url main stdout,stderr sh -c 'kill -9 $$')"
    check exit-signal 'expect_rc 137' 'expect_err "command terminated with exit code 137"' 'expect_status "$ST_KILLED"'
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
    "$V4") check "$name" "expect_report protocol $v" 'expect_out hi' 'expect_rc 3' 'expect_status "$ST_EXIT3"' ;;
    "$V1") check "$name" "expect_report protocol $v" 'expect_out hi' 'expect_rc 1' \
        'expect_err_contains "Error executing remote command: command terminated with non-zero exit code"' \
        'expect_status "command terminated with non-zero exit code: exit status 3"' ;;
    *) check "$name" "expect_report protocol $v" 'expect_out hi' 'expect_rc 1' \
        'expect_err_contains "error executing remote command: command terminated with non-zero exit code"' \
        'expect_status "command terminated with non-zero exit code: exit status 3"' ;;
    esac
done

for v in $V3 $V2 $V1; do
    name="success-$v"
    wanted "$name" || continue
    run_client "$name" "" -versions "$v" "$(exec_url main stdout,stderr echo ok)"
    check "$name" "expect_report protocol $v" 'expect_rc 0' 'expect_out ok' 'expect_err ""' 'expect_status ""'
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

if wanted not-upgrade-400 && needs not-upgrade-400 cmd:curl; then
    code="$(curl -s -o "$CASE_DIR/not-upgrade-400.body" -w '%{http_code}' --max-time 10 \
        "$(exec_url main stdout echo never)" 2>/dev/null)"
    check not-upgrade-400 "[ '$code' = 400 ] || { WHY=\"HTTP status '$code', want 400\"; false; }"
fi

if wanted command-not-found; then
    run_client command-not-found "" "$(exec_url main stdout,stderr /nonexistent/command)"
    check command-not-found '[ "$RC" -ne 0 ] || { WHY="exit code 0 for a missing executable"; false; }' \
        'expect_report http_status 101'
fi

