# Sourced by scripts/bench: section "sessions" — many single-stream `true` sessions over few HTTP/2 connections
# (h2load -c 10 -m 10, as any HTTP/2 client library would send them) against the process-spawn floor: the bench
# process running posix_spawn + waitpid of `true` in a loop, the same count per round.

mux_skip=""
define_session_rows() {
    # A gateway that serves one session per HTTP/2 connection answers the first request of each connection and
    # refuses or never answers the others: h2load would then hang or report failures, not a rate.
    local out ok
    out="$(timeout 30 h2load -n 20 -c 1 -m 10 "$(url_single "${PORT[gwN]}" true)" 2>&1 || true)"
    ok="$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")"
    if [ "${ok:-0}" != 20 ]; then
        mux_skip="skipped: this gateway serves one session per HTTP/2 connection (h2load -n 20 -c 1 -m 10 of"
        mux_skip+=" \`true\`: ${ok:-0} of 20 answered 2xx); the row needs issue 15 item 1 (branch h2mux)"
        echo "bench: sessions: $mux_skip" >&2
        return
    fi
    row mux-n-h2load-gw1 h2sessions "h2load -c 10 -m 10 -> execbridge" 1 gw1 floor-true
    row mux-n-h2load-gwN h2sessions "h2load -c 10 -m 10 -> execbridge" "$cores" gwN floor-true
    # One at a time on one connection: the latency of a session's set-up and end without queueing behind others.
    row mux-n-seq-gwN h2sessions "h2load -c 1 -m 1 -> execbridge (latency)" "$cores" gwN floor-true
}

print_session_section() {
    echo
    echo "6. Sessions over multiplexed HTTP/2: h2load -c 10 -m 10, single-stream \`command=true\`, $sessions sessions"
    echo "   per row, against the process-spawn floor (posix_spawn + wait of \`true\` in a loop, the same count)"
    rule
    if [ -n "$mux_skip" ]; then
        echo "   $mux_skip"
        return
    fi
    printf '%-46s %7s %8s %9s %9s %8s %10s %9s\n' "client -> server" "threads" "sess/s" "p50 ms" "p99 ms" "CPU ms" \
        "server RSS" "vs floor"
    local id f
    for id in floor-true mux-n-h2load-gw1 mux-n-h2load-gwN mux-n-seq-gwN; do
        f="$work/$id.samples"
        printf '%-46s %7s %8s %9s %9s %8s %10s %9s%s\n' "${LABEL[$id]}" "${THREADS[$id]}" "$(figure "$id")" \
            "$(percentile 2 50 "$f")" "$(percentile 2 99 "$f")" "$(cpu_per_op "$id" 1000)" "$(mib "${PEAK[$id]:-}")" \
            "$(anchor_ratio "$id")" "$(note "$id")"
    done
    echo "   p50/p99: h2load's per-request time, request sent -> response and trailers complete (set-up, \`true\`, teardown);"
    echo "   for the floor: posix_spawn -> reaped exit. With -c 10 -m 10 a hundred requests are in flight, so their time is"
    echo "   mostly waiting behind the others (sess/s is the figure the target is about); the -c 1 -m 1 row sends one"
    echo "   request at a time on one connection: its p50/p99 is the latency of a session without queueing."
}
