# Sourced by scripts/bench: the HTTP/2 -> HTTP/2 upstream relay — a gateway with --backend h2c:// in front of a
# second gateway (local backend), beside the in-repo HTTP/2 client talking to that second gateway directly.
# The SPDY -> SPDY rows (in-repo and Go clients through --backend spdy:// to the Go server) are section 5's.

define_relay_rows() {
    start_server gwB "$gateway_bin" serve --listen 127.0.0.1:PORT --log-level error
    start_server gwH "$gateway_bin" serve --listen 127.0.0.1:PORT --backend "h2c://127.0.0.1:${PORT[gwB]}" \
        --log-level error
    row up-s-h2d-gwB stream "in-repo HTTP/2 -> execbridge (direct)" "$cores" gwB ""
    row up-s-h2h-gwH stream "in-repo HTTP/2 -> execbridge -h2c-> execbridge" "$cores" gwH up-s-h2d-gwB
    row up-n-h2d-gwB sessions "in-repo HTTP/2 -> execbridge (direct)" "$cores" gwB ""
    row up-n-h2h-gwH sessions "in-repo HTTP/2 -> execbridge -h2c-> execbridge" "$cores" gwH up-n-h2d-gwB
}

# A difference of two latency percentiles in ms (ROW ANCHOR COLUMN P).
added_ms() {
    awk -v a="$(percentile "$3" "$4" "$work/$1.samples")" -v b="$(percentile "$3" "$4" "$work/$2.samples")" \
        'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/) printf "%+.3f", a - b; else print "-" }'
}

print_relay_section() {
    echo
    echo "7. Upstream relay: the gateway's own CPU per GB and its throughput beside the same client going direct"
    echo "   ($bytes_spec of stdout), and the set-up latency a relayed session adds ($sessions sequential \`true\` sessions)"
    rule
    printf '%-52s %10s %10s %9s %13s\n' "path" "MB/s" "direct" "vs direct" "gw CPU s/GB"
    local pair id anchor row_id
    for pair in up-s-sw-gwU:up-s-sw-go up-s-go-gwU:spdy-s-go-go up-s-go-spl:spdy-s-go-go up-s-h2h-gwH:up-s-h2d-gwB; do
        id="${pair%%:*}" anchor="${pair#*:}"
        [ -n "${KIND[$id]:-}" ] || continue
        printf '%-52s %10s %10s %9s %13s%s\n' "${LABEL[$id]}" "$(figure "$id")" "$(figure "$anchor")" \
            "$(ratio "$(figure "$id")" "$(figure "$anchor")")" "$(cpu_per_gb "$id")" "$(note "$id")$(note "$anchor")"
    done
    echo
    printf '%-52s %9s %9s %9s %9s %9s %9s\n' "sequential sessions" "ready p50" "ready p99" "end p50" "end p99" \
        "+p50 ms" "+p99 ms"
    for pair in up-n-sw-gwU:up-n-sw-go up-n-h2h-gwH:up-n-h2d-gwB; do
        id="${pair%%:*}" anchor="${pair#*:}"
        [ -n "${KIND[$id]:-}" ] || continue
        for row_id in "$anchor" "$id"; do
            local f="$work/$row_id.samples" plus50="" plus99=""
            if [ "$row_id" = "$id" ]; then plus50="$(added_ms "$id" "$anchor" 2 50)" plus99="$(added_ms "$id" "$anchor" 2 99)"; fi
            printf '%-52s %9s %9s %9s %9s %9s %9s%s\n' "${LABEL[$row_id]}" "$(percentile 1 50 "$f")" \
                "$(percentile 1 99 "$f")" "$(percentile 2 50 "$f")" "$(percentile 2 99 "$f")" "${plus50:--}" \
                "${plus99:--}" "$(note "$row_id")"
        done
    done
    echo "   +p50/+p99: end (connect -> exit status) through the gateway minus direct: what a relayed \`true\` session adds."
    echo "   ready does not show it: the relaying gateway answers the client's streams before it reaches the upstream."
    echo "   SPDY -> SPDY: --backend spdy:// to the Go server, one upstream connection per session (the protocol's rule);"
    echo "   the splice(2) relay moves the same bytes between the same Go peers without user space: no relay does less"
    echo "   (its 'gw CPU' is its own), so its ratio is the most any relay reaches on this machine."
    echo "   HTTP/2 -> HTTP/2: --backend h2c:// to a second gateway (pooled connections where the pool is built)."
}
