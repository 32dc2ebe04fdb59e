# Sourced by scripts/bench: section "memory", measured once after the interleaved rounds, each figure on a server
# started for it alone (memory a previous measurement left behind would blur the next).
#
# Idle: `execbridge-bench concurrent` opens N sessions of `sleep` at once (stdout only) and holds them; the
# gateway's VmRSS with them held minus its VmRSS just before, over N, is the RSS per idle session. Anchor: the
# in-repo SPDY client holding the same sessions on the Go spdy-exec-server (spdystream, as kubelet).
# Burst: N concurrent sessions each printing --burst-bytes; peak = VmHWM during the burst, after = VmRSS once
# it has settled (two equal readings half a second apart, or 10 s), both beside the RSS before the burst.

declare -A MEM
memory_counts=(1000 5000)
burst_count=1000
burst_bytes=1M

# Holds COUNT idle sessions of WIRE on PORT; sets held_line and hold_pid, and the file that releases them.
hold_sessions() { # WIRE PORT COUNT
    hold_until="$work/release.$1.$3"
    rm -f "$hold_until" "$work/hold.out"
    "$bench_bin" concurrent --proto "$1" --port "$2" --count "$3" --sleep 600 --until "$hold_until" \
        >"$work/hold.out" 2>>"$work/measure.err" &
    hold_pid=$!
    started+=("$hold_pid")
    held_line=""
    while kill -0 "$hold_pid" 2>/dev/null; do
        held_line="$(head -n 1 "$work/hold.out" 2>/dev/null || true)"
        [ -z "$held_line" ] || return 0
        sleep 0.2
    done
    held_line="$(head -n 1 "$work/hold.out" 2>/dev/null || true)"
    [ -n "$held_line" ] || held_line="ok=no failure=the_client_exited"
}
# The gateway, like kubelet, leaves a command running when its client goes away: the held sessions' `sleep`s are
# ended here, each by its pid, as children of the server this script started.
release_sessions() { # SERVER_PID
    local child
    touch "$hold_until"
    wait "$hold_pid" 2>/dev/null || true
    for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do kill -TERM "$child" 2>/dev/null || true; done
}

# Settled VmRSS of PID.
settled_rss() {
    local pid="$1" last="" cur i
    for i in $(seq 20); do
        cur="$(rss_kb "$pid")"
        [ "$cur" != "$last" ] || break
        last="$cur"
        sleep 0.5
    done
    echo "$cur"
}

# One idle measurement: KEY SERVER_NAME WIRE COUNT (the server is already started).
measure_idle() {
    local key="$1" name="$2" wire="$3" n="$4" pid before after
    pid="${PID[$name]}"
    before="$(settled_rss "$pid")"
    hold_sessions "$wire" "${PORT[$name]}" "$n"
    after="$(settled_rss "$pid")"
    release_sessions "$pid"
    MEM[$key]="$(awk -v a="$after" -v b="$before" -v n="$(kv held "$held_line")" \
        'BEGIN { if (n > 0 && a > 0) printf "%.1f", (a - b) / n; else print "-" }')"
    MEM[$key.base]="$before" MEM[$key.held]="$after" MEM[$key.n]="$(kv held "$held_line")"
    [ "$(kv ok "$held_line")" != no ] || MEM[$key.fail]="$(kv failure "$held_line") ($(kv held "$held_line") of $n held)"
    [ -z "$raw" ] || echo "$key: $held_line rss_before_kb=$before rss_held_kb=$after" >>"$raw"
}

run_memory() {
    local wire n name line pid before
    for wire in spdy h2 ws; do
        for n in "${memory_counts[@]}"; do
            echo "bench: memory: $n idle $wire sessions" >&2
            name="mem-$wire-$n"
            start_server "$name" "$gateway_bin" serve --listen 127.0.0.1:PORT --log-level error
            measure_idle "idle.$wire.$n" "$name" "$wire" "$n"
            stop_pid "${PID[$name]}"
        done
    done
    if [ "$have_go" = 1 ]; then
        n="${memory_counts[0]}"
        echo "bench: memory: $n idle sessions on the Go server" >&2
        start_server mem-go "$go_server" -listen 127.0.0.1:PORT
        measure_idle "idle.go.$n" mem-go spdy "$n"
        stop_pid "${PID[mem-go]}"
    fi
    for wire in spdy h2 ws; do
        echo "bench: memory: burst of $burst_count streaming $wire sessions" >&2
        name="mem-burst-$wire"
        start_server "$name" "$gateway_bin" serve --listen 127.0.0.1:PORT --log-level error
        pid="${PID[$name]}"
        before="$(settled_rss "$pid")"
        reset_peak "$pid"
        line="$("$bench_bin" concurrent --proto "$wire" --port "${PORT[$name]}" --count "$burst_count" \
            --inflight 256 --bytes "$burst_bytes" 2>>"$work/measure.err")" || line="ok=no failure=exit_$?"
        MEM[burst.$wire.open]="$(kv peak_open "$line")"
        MEM[burst.$wire.before]="$before"
        MEM[burst.$wire.peak]="$(peak_kb "$pid")"
        MEM[burst.$wire.after]="$(settled_rss "$pid")"
        [ "$(kv ok "$line")" != no ] || MEM[burst.$wire.fail]="$(kv failure "$line")"
        [ -z "$raw" ] || echo "burst.$wire: $line rss_before_kb=$before peak_kb=${MEM[burst.$wire.peak]} after_kb=${MEM[burst.$wire.after]}" >>"$raw"
        stop_pid "$pid"
    done
}

mem_fail() { [ -z "${MEM[$1.fail]:-}" ] || echo "  FAILED: ${MEM[$1.fail]}"; }

print_memory_section() {
    local wire n key
    echo
    echo "9. Memory: gateway RSS per concurrent idle session (\`sleep\`, stdout only), each count on a fresh server"
    rule
    printf '%-40s %9s %12s %12s %14s\n' "server: generation" "sessions" "RSS before" "RSS held" "KiB/session"
    for wire in spdy h2 ws go; do
        for n in "${memory_counts[@]}"; do
            key="idle.$wire.$n"
            [ -n "${MEM[$key]:-}" ] || continue
            printf '%-40s %9s %12s %12s %14s%s\n' "$(mem_name "$wire")" "${MEM[$key.n]:-0}" "$(mib "${MEM[$key.base]}")" \
                "$(mib "${MEM[$key.held]}")" "${MEM[$key]}" "$(mem_fail "$key")"
        done
    done
    echo "   RSS in MiB; KiB/session = (held - before) / sessions held. The sessions' \`sleep\` processes are not counted"
    echo "   for any server. Go server: kubelet-like spdy-exec-server (moby/spdystream), held by the in-repo SPDY client."
    echo
    echo "   Burst: $burst_count concurrent sessions, each printing $burst_bytes (head -c), on a fresh gateway"
    printf '%-40s %10s %12s %12s %12s %14s\n' "generation" "most open" "RSS before" "peak" "after" "peak KiB/sess"
    for wire in spdy h2 ws; do
        [ -n "${MEM[burst.$wire.before]:-}" ] || continue
        printf '%-40s %10s %12s %12s %12s %14s%s\n' "$(mem_name "$wire")" "${MEM[burst.$wire.open]:--}" "$(mib "${MEM[burst.$wire.before]}")" \
            "$(mib "${MEM[burst.$wire.peak]}")" "$(mib "${MEM[burst.$wire.after]}")" \
            "$(awk -v p="${MEM[burst.$wire.peak]}" -v b="${MEM[burst.$wire.before]}" -v n="$burst_count" \
                'BEGIN { if (p > 0) printf "%.1f", (p - b) / n; else print "-" }')" "$(mem_fail "burst.$wire")"
    done
    echo "   after: VmRSS once settled after every session ended; peak: VmHWM during the burst; most open: sessions open at"
    echo "   once (set-ups are started 256 at a time, and the first sessions may end before the last begin)."
}
mem_name() { case "$1" in spdy) echo "execbridge: SPDY/3.1" ;; h2) echo "execbridge: HTTP/2" ;; ws) echo "execbridge: WebSocket v5" ;; go) echo "Go spdy-exec-server (anchor)" ;; esac; }
