# Sourced by scripts/bench: the closing table — each figure of issue 15 item 3 beside its anchor from this run,
# the ratio, the issue's target and whether this run met it. A figure that was not measured says why.

summary_row() { # NAME FIGURE ANCHOR RATIO TARGET MET
    printf '%-44s %16s %16s %8s %12s  %s\n' "$@"
}

# met / not met for VALUE OP LIMIT (OP: ge or le); "-" when the value is missing.
verdict() {
    awk -v v="${1%x}" -v op="$2" -v l="$3" 'BEGIN {
        if (v !~ /^[-+]?[0-9.]+$/) { print "-"; exit }
        ok = (op == "ge") ? (v + 0 >= l + 0) : (v + 0 <= l + 0)
        print ok ? "met" : "NOT MET" }'
}

summary_ratio_row() { # NAME ID ANCHOR_ID UNIT TARGET_RATIO
    local r
    r="$(ratio "$(figure "$2")" "$(figure "$3")")"
    [ -n "${KIND[$2]:-}" ] || { summary_row "$1" "not measured" - - ">= $5x" -; return; }
    summary_row "$1" "$(figure "$2") $4" "$(figure "$3") $4" "$r" ">= $5x" "$(verdict "$r" ge "$5")"
}

print_summary() {
    echo
    echo "Summary: issue 15 item 3, every figure beside its anchor from this run (ratios are what to compare)"
    rule
    summary_row "row" "figure" "anchor" "ratio" "target" "met?"
    if [ -n "${KIND[h2-l-gwN]:-}" ]; then
        summary_ratio_row "front door: h2load /healthz (default)" h2-l-gwN h2-l-nghttpd "req/s" 0.9
        summary_ratio_row "front door: h2load /healthz (1 loop)" h2-l-gw1 h2-l-nghttpd "req/s" 0.9
    fi
    if wants sessions; then
        if [ -n "$mux_skip" ]; then
            summary_row "sessions: h2load command=true" "skipped" "spawn floor" - ">= 0.8x" "-"
        else
            summary_ratio_row "sessions: h2load command=true (default)" mux-n-h2load-gwN floor-true "sess/s" 0.8
            summary_row "  latency p50 / p99 ms (-c 1 -m 1)" "$(percentile 2 50 "$work/mux-n-seq-gwN.samples") / $(
                percentile 2 99 "$work/mux-n-seq-gwN.samples")" "$(percentile 2 50 "$work/floor-true.samples") / $(
                percentile 2 99 "$work/floor-true.samples")" - - -
        fi
    fi
    local pair id anchor name cpu
    for pair in "up-s-sw-gwU:up-s-sw-go:relay SPDY->SPDY, in-repo client" \
        "up-s-go-gwU:spdy-s-go-go:relay SPDY->SPDY, Go client" "up-s-h2h-gwH:up-s-h2d-gwB:relay HTTP/2->HTTP/2, in-repo"; do
        id="${pair%%:*}" anchor="${pair#*:}" name="${anchor#*:}" anchor="${anchor%%:*}"
        [ -n "${KIND[$id]:-}" ] || continue
        summary_ratio_row "$name: MB/s" "$id" "$anchor" "MB/s" 0.9
        cpu="$(cpu_per_gb "$id")"
        summary_row "$name: gateway CPU" "$cpu s/GB" "$(cpu_per_gb "$anchor") s/GB" - "<= 1.0 s/GB" "$(verdict "$cpu" le 1.0)"
        if [ "$id" = up-s-go-gwU ] && [ -n "${KIND[up-s-go-spl]:-}" ]; then
            # No target: what the machine leaves to any relay (see section 7).
            summary_row "$name: vs splice(2) relay" "$(figure "$id") MB/s" "$(figure up-s-go-spl) MB/s" \
                "$(ratio "$(figure "$id")" "$(figure up-s-go-spl)")" "(ceiling)" "-"
            summary_row "  splice(2) relay vs direct" "$(figure up-s-go-spl) MB/s" "$(figure "$anchor") MB/s" \
                "$(ratio "$(figure up-s-go-spl)" "$(figure "$anchor")")" "-" "-"
        fi
    done
    if [ -n "${KIND[up-n-h2h-gwH]:-}" ]; then
        local plus
        # End (connect -> exit status) of a `true` session: ready is answered before the upstream is reached.
        plus="$(added_ms up-n-h2h-gwH up-n-h2d-gwB 2 50)"
        summary_row "h2c upstream: added latency p50" "$plus ms" "$(percentile 2 50 "$work/up-n-h2d-gwB.samples") ms" - \
            "<= 0.3 ms" "$(verdict "$plus" le 0.3)"
        summary_row "h2c upstream: added latency p99" "$(added_ms up-n-h2h-gwH up-n-h2d-gwB 2 99) ms" \
            "$(percentile 2 99 "$work/up-n-h2d-gwB.samples") ms" - - -
    fi
    if wants memory; then
        local wire n limit go back
        go="$(mem "idle.go.${memory_counts[0]}" rss_per_session_kib)"
        for wire in spdy h2 ws; do
            limit=32
            [ "$wire" != spdy ] || limit=64
            for n in "${memory_counts[@]}"; do
                local v
                v="$(mem "idle.$wire.$n" rss_per_session_kib)"
                summary_row "memory: $(mem_name "$wire" | sed 's/^execbridge: //') idle x$n" "${v:--} KiB" \
                    "${go:--} KiB (Go)" "$(ratio "$v" "$go")" "<= $limit KiB" "$(verdict "$v" le "$limit")"
            done
        done
        for wire in spdy h2 ws; do
            [ -n "${MEM[burst.$wire]:-}" ] || continue
            # "Give memory back": after the burst the gateway keeps at most a tenth of what the burst added.
            back="$(awk -v b="$(mem "burst.$wire" before_mib)" -v p="$(mem "burst.$wire" peak_mib)" \
                -v a="$(mem "burst.$wire" after_mib)" 'BEGIN { if (p > b) printf "%.2f", (a - b) / (p - b); else print "-" }')"
            summary_row "memory: $(mem_name "$wire" | sed 's/^execbridge: //') burst x$burst_count" \
                "$(mem "burst.$wire" after_mib) MiB after" "$(mem "burst.$wire" peak_mib) MiB peak" "$back" \
                "kept <= 0.1" "$(verdict "$back" le 0.1)"
        done
    fi
    if wants bulk; then
        for pair in "spdy-s-sw-gwN:bulk SPDY, in-repo client" "spdy-s-go-gwN:bulk SPDY, Go client" \
            "h2-s-sw-gwN:bulk HTTP/2 channel streams" "bulk-h2ss-gwN:bulk HTTP/2 single-stream (h2load)" \
            "ws-s-sw-gwN:bulk WebSocket v5"; do
            id="${pair%%:*}" name="${pair#*:}"
            [ -n "${KIND[$id]:-}" ] || continue
            summary_ratio_row "$name" "$id" bulk-socat "MB/s" 1.0
        done
    fi
    echo "   ratio: figure / anchor (memory burst: (after - before) / (peak - before), the share of the burst's growth kept)."
}
