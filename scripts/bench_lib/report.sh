# Sourced by scripts/bench: figures of a row (medians, rates, percentiles, ratios) and the tables of sections 1-5.


median() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
percentile() { # COLUMN P FILE: nearest-rank percentile of a column of a samples file
    [ -s "$3" ] || { echo "-"; return; }
    awk -v c="$1" '$c != "-" { print $c }' "$3" | sort -g |
        awk -v p="$2" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } r = int(p / 100 * NR); if (r < p / 100 * NR) r++; if (r < 1) r = 1; print v[r] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "-" }'; }
mib() { awk -v k="$1" 'BEGIN { if (k ~ /^[0-9]+$/) printf "%.1f", k / 1024; else print "-" }'; }
rate() { awk -v n="${TOTAL_N[$1]:-0}" -v s="${TOTAL_S[$1]:-0}" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "-" }'; }
figure() { # the main figure of a row: median MB/s, or total rate
    case "${KIND[$1]}" in
    local | stream) median <<<"${VALUES[$1]:-}" ;;
    *) rate "$1" ;;
    esac
}
note() { [ -z "${FAILURE[$1]:-}" ] || echo "  FAILED: ${FAILURE[$1]}"; }
anchor_ratio() { local a="${ANCHOR[$1]}"; [ -n "$a" ] && ratio "$(figure "$1")" "$(figure "$a")" || echo "-"; }
rule() { printf '%s\n' "-------------------------------------------------------------------------------------------------------------------"; }

cpu_per_gb() { median <<<"${CPU[$1]:-}" | awk -v b="$bytes" '$1 ~ /^[0-9.]+$/ { printf "%.2f", $1 / (b / 1e9); next } { print "-" }'; }
cpu_per_op() { # ID SCALE: summed server CPU seconds per session (ms, SCALE 1000) or per request (us, SCALE 1e6)
    awk -v c="${CPU[$1]:-}" -v n="${TOTAL_N[$1]:-0}" -v k="$2" 'BEGIN { if (c != "" && n > 0) printf "%.3f", c / n * k; else print "-" }'
}

print_stream_rows() { # PREFIX [EXTRA_ID...]: rows whose id starts with PREFIX, after the extra rows
    local prefix="$1" id ids=()
    shift
    for id in "$@"; do [ -z "${KIND[$id]:-}" ] || ids+=("$id"); done
    for id in "${ROWS[@]}"; do [[ "$id" != "$prefix"* ]] || ids+=("$id"); done
    printf '%-46s %7s %10s %11s %11s %10s\n' "client -> server" "threads" "MB/s" "CPU s/GB" "server RSS" "vs anchor"
    for id in "${ids[@]}"; do
        printf '%-46s %7s %10s %11s %11s %10s%s\n' "${LABEL[$id]}" "${THREADS[$id]}" "$(figure "$id")" "$(cpu_per_gb "$id")" \
            "$(mib "${PEAK[$id]:-}")" "$(anchor_ratio "$id")" "$(note "$id")"
    done
}

print_session_rows() { # PREFIX [EXTRA_ID...]: rows whose id starts with PREFIX, after the extra rows
    local prefix="$1" id f ids=()
    shift
    for id in "$@"; do [ -z "${KIND[$id]:-}" ] || ids+=("$id"); done
    for id in "${ROWS[@]}"; do [[ "$id" != "$prefix"* ]] || ids+=("$id"); done
    printf '%-46s %7s %8s %9s %9s %9s %9s %8s %10s %9s\n' "client -> server" "threads" "sess/s" "ready p50" "ready p99" \
        "end p50" "end p99" "CPU ms" "server RSS" "vs anchor"
    for id in "${ids[@]}"; do
        f="$work/$id.samples"
        printf '%-46s %7s %8s %9s %9s %9s %9s %8s %10s %9s%s\n' "${LABEL[$id]}" "${THREADS[$id]}" "$(figure "$id")" \
            "$(percentile 1 50 "$f")" "$(percentile 1 99 "$f")" "$(percentile 2 50 "$f")" "$(percentile 2 99 "$f")" \
            "$(cpu_per_op "$id" 1000)" "$(mib "${PEAK[$id]:-}")" "$(anchor_ratio "$id")" "$(note "$id")"
    done
}

# Section 4: the three wires' in-repo clients against the same gateways, WebSocket's ratio to the other two.
wire_name() { case "$1" in spdy) echo "SPDY/3.1" ;; h2) echo "HTTP/2 h2c" ;; ws) echo "WebSocket v5" ;; esac; }
print_wire_rows() { # KIND (s: streams, n: sessions)
    local kind="$1" gw wire id f figures
    if [ "$kind" = s ]; then
        printf '%-46s %7s %10s %11s %11s %9s %9s\n' "in-repo client -> execbridge" "threads" "MB/s" "CPU s/GB" "server RSS" \
            "vs SPDY" "vs HTTP/2"
    else
        printf '%-46s %7s %8s %9s %9s %9s %9s %8s %10s %9s %9s\n' "in-repo client -> execbridge" "threads" "sess/s" \
            "ready p50" "ready p99" "end p50" "end p99" "CPU ms" "server RSS" "vs SPDY" "vs HTTP/2"
    fi
    for gw in gw1 gwN; do
        for wire in spdy h2 ws; do
            id="$wire-$kind-sw-$gw"
            local vs_spdy="-" vs_h2="-"
            if [ "$wire" = ws ]; then
                vs_spdy="$(ratio "$(figure "$id")" "$(figure "spdy-$kind-sw-$gw")")"
                vs_h2="$(ratio "$(figure "$id")" "$(figure "h2-$kind-sw-$gw")")"
            fi
            if [ "$kind" = s ]; then
                figures="$(printf '%10s %11s' "$(figure "$id")" "$(cpu_per_gb "$id")")"
                printf '%-46s %7s %s %11s %9s %9s%s\n' "$(wire_name "$wire")" "${THREADS[$id]}" "$figures" \
                    "$(mib "${PEAK[$id]:-}")" "$vs_spdy" "$vs_h2" "$(note "$id")"
            else
                f="$work/$id.samples"
                figures="$(printf '%8s %9s %9s %9s %9s %8s' "$(figure "$id")" "$(percentile 1 50 "$f")" "$(percentile 1 99 "$f")" \
                    "$(percentile 2 50 "$f")" "$(percentile 2 99 "$f")" "$(cpu_per_op "$id" 1000)")"
                printf '%-46s %7s %s %10s %9s %9s%s\n' "$(wire_name "$wire")" "${THREADS[$id]}" "$figures" \
                    "$(mib "${PEAK[$id]:-}")" "$vs_spdy" "$vs_h2" "$(note "$id")"
            fi
        done
    done
}


print_sections() {
    if wants local; then
        echo
        echo "1. Local backend + bridge, in process: head -c $bytes_spec /dev/zero -> discarding frontend (pendingBytes 0)"
        rule
        printf '%-46s %7s %10s %11s %11s %10s\n' "path" "" "MB/s" "CPU s/GB" "peak RSS" "vs ceiling"
        for id in local-ceiling local-bridge; do
            printf '%-46s %7s %10s %11s %11s %10s%s\n' "${LABEL[$id]}" "" "$(figure "$id")" "$(cpu_per_gb "$id")" \
                "$(mib "${PEAK[$id]:-}")" "$(anchor_ratio "$id")" "$(note "$id")"
        done
        echo "   the bridge's peak RSS is the whole bench process (the Swift runtime and libraries are most of it)"
    fi
    if wants spdy; then
        echo
        echo "2. SPDY/3.1, local backend: $bytes_spec of stdout; $sessions sequential \`true\` sessions"
        rule
        print_stream_rows spdy-s-
        echo
        print_session_rows spdy-n- floor-true floor-go
    fi
    if wants h2; then
        echo
        echo "3. HTTP/2 (prior-knowledge h2c), local backend: $bytes_spec of stdout; $sessions sequential \`true\` sessions"
        rule
        print_stream_rows h2-s-
        echo
        print_session_rows h2-n- floor-true
        echo
        echo "   h2load -n $requests -c 10 -m 10 http://127.0.0.1:PORT/healthz (h2c prior knowledge; h2load shares the cores)"
        printf '%-46s %7s %10s %11s %11s %10s\n' "server" "threads" "req/s" "CPU us/req" "server RSS" "vs nghttpd"
        for id in "${ROWS[@]}"; do
            [[ "$id" == h2-l-* ]] || continue
            printf '%-46s %7s %10s %11s %11s %10s%s\n' "${LABEL[$id]}" "${THREADS[$id]}" "$(figure "$id")" "$(cpu_per_op "$id" 1000000)" \
                "$(mib "${PEAK[$id]:-}")" "$(anchor_ratio "$id")" "$(note "$id")"
        done
    fi
    if wants ws; then
        echo
        echo "4. WebSocket v5 beside SPDY and HTTP/2, in-repo clients, local backend: $bytes_spec of stdout; $sessions sequential \`true\` sessions"
        rule
        print_wire_rows s
        echo
        print_wire_rows n
    fi
    if [ "$with_upstream" = 1 ]; then
        echo
        echo "5. Upstream: client -> execbridge --backend spdy:// -> Go spdy-exec-server (classic teardown), beside the"
        echo "   client -> Go server directly: $bytes_spec of stdout; $sessions sequential \`true\` sessions"
        rule
        print_stream_rows up-s- spdy-s-go-go
        echo
        print_session_rows up-n- floor-true floor-go spdy-n-go-go
        echo "   server RSS and CPU: the Go server's in direct rows, the gateway's (not the Go server's) behind it."
        echo "   HTTP/2 and WebSocket have no direct path to a SPDY server: their 'vs anchor' is the in-repo SPDY client's direct row."
    fi
    if wants spdy || wants h2 || wants ws || [ "$with_upstream" = 1 ]; then
        echo
        echo "Latencies in ms. ready: connect -> every channel stream answered (SYN_REPLY / response HEADERS; WebSocket: the 101);"
        echo "end: connect -> exit status received. Only the in-repo clients see ready; for the Go client, end is"
        echo "spawn -> exit of the whole client process (Go's process start included; the anchor pays it too)."
        [ -z "$idle_rss" ] || echo "Gateway RSS when idle, before the first row: $(mib "$idle_rss") MiB."
    fi
}
