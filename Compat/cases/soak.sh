# The load-and-fault suite in short (scripts/soak --quick, well under a minute): SPDY, HTTP/2 channel streams,
# HTTP/2 single-stream and WebSocket v5 sessions through `cat` and `sha256sum` on the local and an upstream
# backend, every byte and exit code verified; then client, child and upstream SIGKILL, a stalled reader,
# slowloris and the fd limit. It starts its own gateways from $GATEWAY. Gateway mode only.

in_mode gateway || return 0
needs soak spdy-go cmd:curl cmd:prlimit || return 0

if wanted soak-quick; then
    if "$PY" "$COMPAT_DIR/../scripts/soak" --quick --gateway "$GATEWAY" --spdy-client "$BIN_DIR/spdy-exec-client" \
        >"$CASE_DIR/soak.out" 2>"$CASE_DIR/soak.err"; then
        pass_case soak-quick
    else
        fail_case soak-quick "$(grep -h 'soak:.*#\|soak:.*: ' "$CASE_DIR/soak.err" | head -n 3 | tr '\n' ' ') $(tail -n 12 "$CASE_DIR/soak.out" | tr '\n' ' ')"
    fi
fi
