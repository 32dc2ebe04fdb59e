# Sourced by scripts/bench: bulk output on every generation against a socat relay of the same child output —
# `socat -U TCP-LISTEN:…,fork EXEC:"head -c SIZE /dev/zero"` read by `socat -u TCP:… STDOUT` (64 KiB buffers both
# sides): a program that only moves the child's stdout to a socket, no framing, no flow control. Its log goes to
# /dev/null: start_server's port probe connects and hangs up, and that child's write fails with EPIPE.

define_bulk_rows() {
    start_server socat socat -lf /dev/null -U -b 65536 TCP-LISTEN:PORT,bind=127.0.0.1,reuseaddr,fork "EXEC:head -c $bytes /dev/zero"
    row bulk-socat stream "socat relay of head -c (anchor)" - socat ""
    row_once spdy-s-sw-gwN stream "in-repo client -> execbridge" "$cores" gwN ""
    [ "$have_go" != 1 ] || row_once spdy-s-go-gwN stream "Go client -> execbridge" "$cores" gwN ""
    row_once h2-s-sw-gwN stream "in-repo client -> execbridge" "$cores" gwN ""
    row bulk-h2ss-gwN stream "h2load -> execbridge (single-stream)" "$cores" gwN bulk-socat
    row_once ws-s-sw-gwN stream "in-repo client -> execbridge" "$cores" gwN ""
}

print_bulk_section() {
    echo
    echo "8. Bulk output against the socat relay of the same child output: $bytes_spec of stdout, one session"
    rule
    printf '%-52s %7s %10s %11s %10s\n' "generation: client -> execbridge" "threads" "MB/s" "CPU s/GB" "vs socat"
    local pair id name
    for pair in "bulk-socat:socat relay (anchor)" "spdy-s-sw-gwN:SPDY/3.1: in-repo client" \
        "spdy-s-go-gwN:SPDY/3.1: Go client (spdystream)" "h2-s-sw-gwN:HTTP/2 channel streams: in-repo client" \
        "bulk-h2ss-gwN:HTTP/2 single-stream: h2load" "ws-s-sw-gwN:WebSocket v5: in-repo client"; do
        id="${pair%%:*}" name="${pair#*:}"
        [ -n "${KIND[$id]:-}" ] || continue
        # socat forks a child per connection, which does the work: the parent's CPU says nothing.
        local cpu="-"
        [ "$id" = bulk-socat ] || cpu="$(cpu_per_gb "$id")"
        printf '%-52s %7s %10s %11s %10s%s\n' "$name" "${THREADS[$id]}" "$(figure "$id")" "$cpu" \
            "$(ratio "$(figure "$id")" "$(figure bulk-socat)")" "$(note "$id")"
    done
    echo "   the readers differ (socat, h2load and Go are C/Go programs; the in-repo clients are Swift on one loop), so"
    echo "   a low ratio on an in-repo row may be the client's; CPU s/GB is the gateway's own."
}
