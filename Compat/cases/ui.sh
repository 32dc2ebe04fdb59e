# The web terminal (`execbridge serve --ui`, docs/ui.md) in a real headless Chromium, driven by Selenium
# (Compat/ui/ui_browser.py, Debian's chromium, chromium-driver and python3-selenium on the system Python): sign in
# with a token, open bash in an inventory pod from the command field, type `echo ui-$RANDOM; stty size` and read the
# answer from the terminal's text, resize the window and see `stty size` follow, `exit 3` shows 3, play the session's
# recording (pause, seek, speed), and a page of another origin (a second HTTP server on another port) opening the
# same WebSocket with a valid token is refused. One screenshot per step in $CASE_DIR/ui-shots. Gateway mode only.
# Cells: ui-headers (curl: the page's security headers), ui-browser. About 10 s.

in_mode gateway || return 0
ui_any=0
for ui_n in ui-headers ui-browser; do wanted "$ui_n" && ui_any=1; done
[ "$ui_any" = 1 ] || return 0
needs ui cmd:curl || return 0

ui_dir="$CASE_DIR/ui"
rm -rf "$ui_dir" "$CASE_DIR/ui-shots"
mkdir -p "$ui_dir" "$CASE_DIR/ui-shots"
ui_token="ui-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s,alice,1001,"developers"\n' "$ui_token" >"$ui_dir/tokens.csv"
cat >"$ui_dir/inventory.yaml" <<'YAML'
pods:
  - namespace: default
    name: web
    containers:
      - name: app
      - name: sidecar
YAML

if ! start_gateway ui-gateway --ui --inventory "$ui_dir/inventory.yaml" --token-file "$ui_dir/tokens.csv" \
    --record-dir "$ui_dir/casts" --audit-log "$ui_dir/audit.log"; then
    fail_case ui-start "the gateway did not listen: $(tail -n 3 "$CASE_DIR/ui-gateway.log" | tr '\n' ' ')"
    return 0
fi
ui_base="http://127.0.0.1:$GW_PORT"

if wanted ui-headers; then
    run_curl ui-headers "" "$ui_base/ui/"
    check ui-headers 'expect_rc 0' "expect_file_contains '$HDR' 'HTTP/1.1 200'" \
        "expect_header '$HDR' Content-Security-Policy \"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'\"" \
        "expect_header '$HDR' X-Frame-Options DENY" "expect_header '$HDR' X-Content-Type-Options nosniff" \
        "expect_header '$HDR' Referrer-Policy no-referrer" 'expect_out_contains "<title>ExecBridge</title>"'
fi

if wanted ui-browser; then
    # The distribution's Python: python3-selenium is a Debian package, not in the suite's venv.
    if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 ||
        ! /usr/bin/python3 -c 'import selenium' >/dev/null 2>&1; then
        skip_case ui-browser "needs chromium, chromium-driver and python3-selenium (Compat/install.sh installs them; its log: Compat/.work/install.log)"
    else
        ui_foreign_port="$(free_port)"
        start_bg "$ui_dir/foreign-server.log" /usr/bin/python3 -m http.server "$ui_foreign_port" --bind 127.0.0.1 \
            --directory "$COMPAT_DIR/ui"
        ui_foreign_pid="$BG_PID"
        wait_port "$ui_foreign_port" "$ui_foreign_pid"
        run_cmd ui-browser "" /usr/bin/python3 "$COMPAT_DIR/ui/ui_browser.py" --base "$ui_base" --token "$ui_token" \
            --pod default/web/app --foreign "http://127.0.0.1:$ui_foreign_port" --shots "$CASE_DIR/ui-shots" \
            --report "$CASE_DIR/ui-browser.report"
        if [ "$RC" = 3 ]; then
            skip_case ui-browser "Chromium cannot start here: $(report_value chromium)"
        else
            ui_shots="$(ls "$CASE_DIR/ui-shots"/*.png 2>/dev/null | wc -l)"
            check ui-browser 'expect_rc 0 || { WHY="$WHY; step $(report_value failed): $(report_value why)"; false; }' \
                'expect_report passed yes' 'expect_report foreign "verdict: refused"' \
                '[ "$ui_shots" -ge 6 ] || { WHY="$ui_shots screenshots, want 6"; false; }' \
                "expect_file_contains '$ui_dir/audit.log' 'is neither this server'\\''s origin nor allowed with --allow-origin'" \
                "expect_file_contains '$ui_dir/audit.log' '\"kind\":\"ui\",\"path\":\"/ui/api/recordings/'"
        fi
        stop_pid "$ui_foreign_pid"
    fi
fi
stop_pid "$GW_PID"
