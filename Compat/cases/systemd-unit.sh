# deploy/systemd/execbridge.service: `systemd-analyze verify` accepts it (ExecStart pointed at the gateway under
# test), the settings that matter have their values (drain before kill, reload by SIGHUP, the sandbox), and its
# ExecStart command line, with the unit's paths moved under $CASE_DIR, starts a gateway that answers /healthz and
# records into the --record-dir the unit makes writable. Gateway mode only.
# Cells: systemd-unit-verify, systemd-unit-values, systemd-unit-security, systemd-unit-execstart-runs.

in_mode gateway || return 0

unit_src="$COMPAT_DIR/../deploy/systemd/execbridge.service"
unit_dir="$CASE_DIR/systemd-unit"
rm -rf "$unit_dir"
mkdir -p "$unit_dir"
sed "s#/usr/local/bin/execbridge#$GATEWAY#" "$unit_src" >"$unit_dir/execbridge.service"

# unit_value KEY: the last KEY= line of the unit, continuation lines joined, leading spaces dropped.
unit_value() {
    awk -v key="$1" '
        /\\$/ { sub(/\\$/, ""); buf = buf $0; next }
        { line = buf $0; buf = "" }
        index(line, key "=") == 1 { value = substr(line, length(key) + 2) }
        END { print value }' "$unit_src" | tr -s ' '
}

if wanted systemd-unit-verify; then
    if ! command -v systemd-analyze >/dev/null 2>&1; then
        skip_case systemd-unit-verify "no systemd-analyze here (Debian package systemd)"
    else
        run_cmd systemd-unit-verify "" systemd-analyze verify "$unit_dir/execbridge.service"
        if [ "$RC" != 0 ] && grep -qiE "system has not been booted|failed to connect to bus|no such file or directory.*/run/systemd" "$ERR"; then
            skip_case systemd-unit-verify "systemd-analyze cannot run in this container: $(brief "$ERR")"
        else
            check systemd-unit-verify 'expect_rc 0' 'expect_err ""'
        fi
    fi
fi

# expect_unit KEY VALUE: the unit sets KEY to exactly VALUE.
expect_unit() {
    local got
    got="$(unit_value "$1")"
    [ "$got" = "$2" ] && return 0
    WHY="$1='$got', want '$2'"
    return 1
}

if wanted systemd-unit-values; then
    unit_exec="$(unit_value ExecStart)"
    unit_drain="$(sed -n 's/.*--drain-timeout \([0-9]*\).*/\1/p' <<<"$unit_exec")"
    unit_record="$(sed -n 's/.*--record-dir \([^ ]*\).*/\1/p' <<<"$unit_exec")"
    unit_stop="$(unit_value TimeoutStopSec)"
    check systemd-unit-values 'expect_unit KillSignal SIGTERM' 'expect_unit KillMode mixed' \
        'expect_unit ExecReload "/bin/kill -HUP \$MAINPID"' 'expect_unit NoNewPrivileges yes' \
        'expect_unit ProtectSystem strict' 'expect_unit ProtectHome yes' 'expect_unit PrivateTmp yes' \
        'expect_unit CapabilityBoundingSet ""' 'expect_unit SystemCallArchitectures native' \
        'expect_unit RestrictAddressFamilies "AF_INET AF_INET6 AF_UNIX"' 'expect_unit User execbridge' \
        'expect_unit StateDirectory execbridge' 'expect_unit UMask 0077' \
        '[ "$(unit_value LimitNOFILE)" -ge 65536 ] || { WHY="LimitNOFILE=$(unit_value LimitNOFILE)"; false; }' \
        '[ -n "$unit_drain" ] && [ "$unit_stop" -gt $((unit_drain + 15)) ] || { WHY="TimeoutStopSec=$unit_stop is not above --drain-timeout $unit_drain + 15 s of reaping"; false; }' \
        '[[ "$unit_record" == /var/lib/execbridge/* ]] && [[ " $(unit_value ReadWritePaths) " == *" -/var/lib/execbridge "* ]] || { WHY="--record-dir $unit_record is not under a ReadWritePaths/StateDirectory path"; false; }'
fi

if wanted systemd-unit-security; then
    if command -v systemd-analyze >/dev/null 2>&1 && systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
        run_cmd systemd-unit-security "" systemd-analyze security --offline=yes --threshold=20 "$unit_dir/execbridge.service"
        check systemd-unit-security 'expect_rc 0' 'expect_out_contains "Overall exposure level for execbridge.service: 1."'
    else
        skip_case systemd-unit-security "this systemd-analyze has no security --offline (systemd 252+)"
    fi
fi

if wanted systemd-unit-execstart-runs; then
    # The unit's own command line, its paths moved under $unit_dir and a free port: every flag in it exists.
    unit_port="$(free_port)"
    mkdir -p "$unit_dir/etc" "$unit_dir/log" "$unit_dir/lib"
    printf 'unit-test-token-0123456789,alice,1001,"developers"\n' >"$unit_dir/etc/tokens.csv"
    unit_args="$(unit_value ExecStart | sed -e "s#^/usr/local/bin/execbridge ##" -e "s#127.0.0.1:8080#127.0.0.1:$unit_port#" \
        -e "s#/etc/execbridge#$unit_dir/etc#g" -e "s#/var/log/execbridge#$unit_dir/log#g" -e "s#/var/lib/execbridge#$unit_dir/lib#g")"
    read -r -a unit_argv <<<"$unit_args"
    start_bg "$unit_dir/gateway.log" "$GATEWAY" "${unit_argv[@]}"
    unit_pid="$BG_PID"
    if wait_port "$unit_port" "$unit_pid" && healthy "$unit_port"; then
        run_cmd systemd-unit-execstart-runs "" "$GATEWAY" exec --token unit-test-token-0123456789 \
            "http://127.0.0.1:$unit_port/api/v1/namespaces/default/pods/demo/exec?container=app" -- echo recorded
        # The audit line follows the client's end: wait for it (bounded), assert nothing about time.
        for _ in $(seq 100); do grep -q '"recording"' "$unit_dir/log/audit.log" 2>/dev/null && break; sleep 0.1; done
        check systemd-unit-execstart-runs 'expect_rc 0' 'expect_out recorded' \
            '[ "$(ls "$unit_dir/lib/recordings" | wc -l)" = 1 ] || { WHY="recordings: $(ls "$unit_dir/lib/recordings")"; false; }' \
            "expect_file_contains '$unit_dir/log/audit.log' '\"recording\":\"$unit_dir/lib/recordings/'"
    else
        fail_case systemd-unit-execstart-runs "the unit's command line did not start a gateway: $(tail -n 3 "$unit_dir/gateway.log" | tr '\n' ' ')"
    fi
    stop_pid "$unit_pid"
fi
