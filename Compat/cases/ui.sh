# The web terminal (`execbridge serve --ui`, docs/ui.md) in a real headless Chromium, driven by Selenium
# (Compat/ui/ui_browser.py, Debian's chromium, chromium-driver and python3-selenium on the system Python): sign in
# with a token, open bash in an inventory pod from the command field, type `echo ui-$RANDOM; stty size` and read the
# answer from the terminal's text, resize the window and see `stty size` follow, `exit 3` shows 3, play the session's
# recording in a second tab (seek, speed, pause), Reconnect in the first tab (`exit 5` then), and a page of another origin (a second HTTP server on another
# port) opening the same WebSocket with a valid token is refused. Screenshots of each step in $CASE_DIR/ui-shots
# (cleartext) and $CASE_DIR/ui-shots-tls. Gateway mode only.
# Cells: ui-headers (curl: the page's security headers), ui-browser (cleartext: HTTP/1.1), ui-browser-tls (TLS:
# Chromium speaks HTTP/2 to the gateway, its WebSocket an RFC 8441 stream). About 25 s.

in_mode gateway || return 0
ui_any=0
for ui_n in ui-headers ui-browser ui-browser-tls; do wanted "$ui_n" && ui_any=1; done
[ "$ui_any" = 1 ] || return 0
needs ui cmd:curl cmd:openssl || return 0

ui_dir="$CASE_DIR/ui"
rm -rf "$ui_dir" "$CASE_DIR"/ui-shots*
mkdir -p "$ui_dir"
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

# ui_gateway NAME [ARG...]: a gateway with the web terminal (audit log $ui_dir/NAME.audit); false when it did not start.
ui_gateway() {
    local name="$1"
    shift
    start_gateway "$name" --ui --inventory "$ui_dir/inventory.yaml" --token-file "$ui_dir/tokens.csv" \
        --record-dir "$ui_dir/casts-$name" --audit-log "$ui_dir/$name.audit" "$@" && return 0
    fail_case "$name" "the gateway did not listen: $(tail -n 3 "$CASE_DIR/$name.log" | tr '\n' ' ')"
    return 1
}

ui_browser_ok=1
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 ||
    ! /usr/bin/python3 -c 'import selenium' >/dev/null 2>&1; then
    ui_browser_ok=0 # the distribution's Python: python3-selenium is a Debian package, not in the suite's venv
fi
ui_foreign_pid=""

# ui_browser NAME BASE [ui_browser.py ARG...]: the whole walk through the page at BASE; one PASS/FAIL/SKIP.
ui_browser() {
    local name="$1" base="$2" audit="$ui_dir/$1-gateway.audit"
    shift 2
    if [ "$ui_browser_ok" != 1 ]; then
        skip_case "$name" "needs chromium, chromium-driver and python3-selenium (Compat/install.sh installs them; its log: Compat/.work/install.log)"
        return 0
    fi
    if [ -z "$ui_foreign_pid" ]; then
        ui_foreign_port="$(free_port)"
        start_bg "$ui_dir/foreign-server.log" /usr/bin/python3 -m http.server "$ui_foreign_port" --bind 127.0.0.1 \
            --directory "$COMPAT_DIR/ui"
        ui_foreign_pid="$BG_PID"
        wait_port "$ui_foreign_port" "$ui_foreign_pid"
    fi
    mkdir -p "$CASE_DIR/$name-shots"
    run_cmd "$name" "" /usr/bin/python3 "$COMPAT_DIR/ui/ui_browser.py" --base "$base" --token "$ui_token" \
        --pod default/web/app --foreign "http://127.0.0.1:$ui_foreign_port" --shots "$CASE_DIR/$name-shots" \
        --report "$CASE_DIR/$name.report" "$@"
    if [ "$RC" = 3 ]; then
        skip_case "$name" "Chromium cannot start here: $(report_value chromium)"
        return 0
    fi
    ui_shots="$(ls "$CASE_DIR/$name-shots"/*.png 2>/dev/null | wc -l)"
    check "$name" 'expect_rc 0 || { WHY="$WHY; step $(report_value failed): $(report_value why)"; false; }' \
        'expect_report passed yes' 'expect_report foreign "verdict: refused"' \
        '[ "$ui_shots" -ge 7 ] || { WHY="$ui_shots screenshots, want 7"; false; }' \
        "expect_file_contains '$audit' 'is neither this server'\\''s origin nor allowed with --allow-origin'" \
        "expect_file_contains '$audit' '\"kind\":\"ui\",\"path\":\"/ui/api/recordings/'"
}

if (wanted ui-headers || wanted ui-browser) && ui_gateway ui-browser-gateway; then
    if wanted ui-headers; then
        run_curl ui-headers "" "http://127.0.0.1:$GW_PORT/ui/"
        check ui-headers 'expect_rc 0' "expect_file_contains '$HDR' 'HTTP/1.1 200'" \
            "expect_header '$HDR' Content-Security-Policy \"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'\"" \
            "expect_header '$HDR' X-Frame-Options DENY" "expect_header '$HDR' X-Content-Type-Options nosniff" \
            "expect_header '$HDR' Referrer-Policy no-referrer" 'expect_out_contains "<title>ExecBridge</title>"'
    fi
    wanted ui-browser && ui_browser ui-browser "http://127.0.0.1:$GW_PORT"
    stop_pid "$GW_PID"
fi

if wanted ui-browser-tls && tls_cert && ui_gateway ui-browser-tls-gateway --tls-cert "$TLS_CERT" --tls-key "$TLS_KEY"; then
    ui_browser ui-browser-tls "https://127.0.0.1:$GW_PORT" --insecure
    stop_pid "$GW_PID"
fi
if [ -n "$ui_foreign_pid" ]; then stop_pid "$ui_foreign_pid"; fi
