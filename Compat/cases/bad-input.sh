# Input a user would throw at the gateway by hand or by mistake: a broken HTTP/2 connection start, channel streams
# the spec refuses (unknown or duplicate streamtype, another path → RST_STREAM REFUSED_STREAM), an oversized
# header (HTTP/1.1: 431; HTTP/2: the stream is refused, the connection lives on). After each, the gateway must still answer /healthz. Gateway mode only.

in_mode gateway || return 0

healthy_after() {
    healthy "$PORT" && return 0
    WHY="/healthz is not ok afterwards (gateway log: $(tail -n 2 "$CASE_DIR/gateway.log" | tr '\n' ' '))"
    return 1
}

# probe NAME ARGS...: h2/h2_probe.py; its key=value lines become the report.
probe() {
    local name="$1"
    shift
    run_cmd "$name" "" "$PY" "$COMPAT_DIR/h2/h2_probe.py" "$@"
    REPORT="$OUT"
}

if [ "$H2_CASES" = 1 ] && needs h2-bad-input py:h2; then
    if wanted h2-garbage-after-preface; then
        # RFC 9113 §3.4: the preface must be followed by SETTINGS; anything else is a connection error.
        probe h2-garbage-after-preface garbage-after-preface "$PORT"
        check h2-garbage-after-preface 'expect_rc 0' 'expect_report goaway_code 1' 'expect_report closed 1' healthy_after
    fi

    if wanted h2-bad-preface-magic; then
        # "PRI * HTTP/2.0" then garbage instead of "SM": no session may start; an HTTP/1.1 error answer or a
        # GOAWAY, then the connection closes (RFC 9113 §3.4 lets the GOAWAY be omitted).
        probe h2-bad-preface-magic bad-magic "$PORT"
        st="$(report_value http1_status)"
        fr="$(report_value frames)"
        check h2-bad-preface-magic 'expect_rc 0' 'expect_report closed 1' \
            "case '$st:$fr' in [45]??:* | :GOAWAY | :*,GOAWAY | :) ;; *) WHY=\"answer '$st' frames '$fr'\"; false ;; esac" \
            healthy_after
    fi

    if wanted h2-header-70KiB-refused; then
        # Above the advertised SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB): the stream is reset (the gateway uses
        # PROTOCOL_ERROR) or answered 431; the connection itself goes on serving.
        probe h2-header-70KiB-refused big-header "$PORT" --size 71680
        code="$(report_value big_reset_code)"
        st="$(report_value big_status)"
        check h2-header-70KiB-refused 'expect_rc 0' \
            "[ -n '$code' ] || [ '$st' = 431 ] || { WHY=\"answered '$st' to a 70 KiB header\"; false; }" \
            'expect_report next_status 200' 'expect_report next_body ok'
    fi

    refusal_url="$(exec_url main stdout echo still here)"
    for bad in unknown-streamtype:--streamtype=bogus duplicate-streamtype:--streamtype=error other-path:--other-path; do
        name="h2-${bad%%:*}-refused"
        wanted "$name" || continue
        probe "$name" refused "$refusal_url" "${bad#*:}"
        # The refused stream is reset with REFUSED_STREAM (7); the session itself goes on and succeeds.
        check "$name" 'expect_rc 0' 'expect_report first_status 200' 'expect_report bad_reset_code 7' \
            'expect_report stdout "still here"' 'expect_report error_stream "$ST_SUCCESS"' healthy_after
    done
fi

# h2c_upgrade_head SETTINGS_LINES: an exec request asking for the h2c upgrade, with the given HTTP2-Settings lines.
h2c_upgrade_head() {
    local u
    u="$(exec_url main stdout echo hi)"
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n%s\r\n' \
        "${u#"$BASE"}" "$1"
}

if [ "$H2_CASES" = 1 ] && have py:h2; then
    if wanted h2c-settings-not-base64-400; then
        h2c_upgrade_head $'HTTP2-Settings: !!not base64!!\r\n' >"$CASE_DIR/h2c-settings-not-base64-400.in"
        run_cmd h2c-settings-not-base64-400 "$CASE_DIR/h2c-settings-not-base64-400.in" \
            "$PY" "$COMPAT_DIR/h2/h2_probe.py" send "$PORT" --head-only
        REPORT="$OUT"
        check h2c-settings-not-base64-400 'expect_rc 0' 'expect_report http1_status 400'
    fi

    if wanted h2c-settings-partial-400; then
        # 4 bytes (base64url AAAAAA) are no whole 6-byte setting, so no SETTINGS payload (RFC 7540 §3.2.1): the
        # upgrade must be refused with an answer, as for bad base64.
        h2c_upgrade_head $'HTTP2-Settings: AAAAAA\r\n' >"$CASE_DIR/h2c-settings-partial-400.in"
        run_cmd h2c-settings-partial-400 "$CASE_DIR/h2c-settings-partial-400.in" \
            "$PY" "$COMPAT_DIR/h2/h2_probe.py" send "$PORT" --head-only
        REPORT="$OUT"
        check h2c-settings-partial-400 'expect_rc 0' 'expect_report http1_status 400' healthy_after
    fi

    if wanted h2c-settings-twice-no-upgrade; then
        # RFC 7540 §3.2.1: a server MUST NOT upgrade when more than one HTTP2-Settings field is present.
        h2c_upgrade_head $'HTTP2-Settings: AAMAAABkAAQAAP__\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n' \
            >"$CASE_DIR/h2c-settings-twice-no-upgrade.in"
        run_cmd h2c-settings-twice-no-upgrade "$CASE_DIR/h2c-settings-twice-no-upgrade.in" \
            "$PY" "$COMPAT_DIR/h2/h2_probe.py" send "$PORT" --head-only
        REPORT="$OUT"
        st="$(report_value http1_status)"
        check h2c-settings-twice-no-upgrade 'expect_rc 0' \
            "[ -n '$st' ] && [ '$st' != 101 ] || { WHY=\"answer '$st', want no 101 (400)\"; false; }"
    fi
fi

if wanted http1-header-70KiB-431 && needs http1-header-70KiB-431 cmd:curl; then
    big="$(head -c 71680 /dev/zero | tr '\0' a)"
    run_curl http1-header-70KiB-431 "" --http1.1 -H "X-Big: $big" "$(exec_url main stdout echo never)"
    check http1-header-70KiB-431 'expect_rc 0' 'expect_file_contains "$HDR" "HTTP/1.1 431"' \
        'expect_out_contains "\"reason\":\"RequestHeaderFieldsTooLarge\""' 'expect_out_contains "\"code\":431"' healthy_after
fi
