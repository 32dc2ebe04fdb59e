# Sourced by scripts/bench: section "memory", measured once after the interleaved rounds, each figure on a server
# started for it alone (memory a previous measurement left behind would blur the next).
#
# `execbridge-bench hold` (also behind scripts/rss-per-session) opens N sessions at once with the in-repo client
# and reads the server's VmRSS itself. Idle: N sessions of `sleep` (stdout only); (RSS with all set up - RSS
# before) / N is the RSS per idle session. Anchor: the same sessions held on the Go spdy-exec-server
# (spdystream, as kubelet). Burst: N concurrent sessions each printing --burst-bytes; the server's peak (VmHWM,
# reset first) and its VmRSS once settled after they all ended ("after"), beside its RSS before.

declare -A MEM
memory_counts=(1000 5000)
burst_count=1000
burst_bytes=1M

# The gateway, as kubelet, leaves a command running when its client goes away, and `hold` leaves its `sleep`s
# behind: they are ended here, each by its pid, as children of a server this script started.
end_children() { # PID
    local child
    for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do kill -TERM "$child" 2>/dev/null || true; done
}

# One measurement on a fresh server: KEY SERVER_NAME WIRE COUNT [BYTES]; the server is started by the caller.
measure_hold() {
    local key="$1" name="$2" wire="$3" n="$4" pid line
    pid="${PID[$name]}"
    line="$("$bench_bin" hold --proto "$wire" --port "${PORT[$name]}" --pid "$pid" --count "$n" \
        ${5:+--bytes "$5"} 2>>"$work/measure.err")" || line="ok=no failure=exit_$?"
    end_children "$pid"
    stop_pid "$pid"
    MEM[$key]="$line"
    [ -z "$raw" ] || echo "$key: $line" >>"$raw"
}

run_memory() {
    local wire n name
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true # a socket and pipes per session, in the server and here
    for wire in spdy h2 ws; do
        for n in "${memory_counts[@]}"; do
            echo "bench: memory: $n idle $wire sessions" >&2
            name="mem-$wire-$n"
            start_server "$name" "$gateway_bin" serve --listen 127.0.0.1:PORT --log-level error
            measure_hold "idle.$wire.$n" "$name" "$wire" "$n"
        done
    done
    if [ "$have_go" = 1 ]; then
        n="${memory_counts[0]}"
        echo "bench: memory: $n idle sessions on the Go server" >&2
        start_server mem-go "$go_server" -listen 127.0.0.1:PORT
        measure_hold "idle.go.$n" mem-go spdy "$n"
    fi
    for wire in spdy h2 ws; do
        echo "bench: memory: burst of $burst_count streaming $wire sessions" >&2
        name="mem-burst-$wire"
        start_server "$name" "$gateway_bin" serve --listen 127.0.0.1:PORT --log-level error
        measure_hold "burst.$wire" "$name" "$wire" "$burst_count" "$burst_bytes"
    done
}

mem() { kv "$2" "${MEM[$1]:-}"; } # KEY FIELD
mem_fail() { [ "$(mem "$1" ok)" != no ] || echo "  FAILED: $(mem "$1" failure) ($(mem "$1" failures) failed)"; }
mem_name() {
    case "$1" in spdy) echo "execbridge: SPDY/3.1" ;; h2) echo "execbridge: HTTP/2" ;; ws) echo "execbridge: WebSocket v5" ;;
    go) echo "Go spdy-exec-server (anchor)" ;; esac
}

print_memory_section() {
    local wire n key
    echo
    echo "9. Memory: server RSS per concurrent idle session (\`sleep\`, stdout only), each count on a fresh server"
    rule
    printf '%-40s %9s %12s %12s %12s %14s\n' "server: generation" "sessions" "RSS before" "RSS held" "after" "KiB/session"
    for wire in spdy h2 ws go; do
        for n in "${memory_counts[@]}"; do
            key="idle.$wire.$n"
            [ -n "${MEM[$key]:-}" ] || continue
            printf '%-40s %9s %12s %12s %12s %14s%s\n' "$(mem_name "$wire")" "$n" "$(mem "$key" before_mib)" \
                "$(mem "$key" at_mib)" "$(mem "$key" after_mib)" "$(mem "$key" rss_per_session_kib)" "$(mem_fail "$key")"
        done
    done
    echo "   RSS in MiB; KiB/session = (held - before) / sessions; after: once settled, the clients gone (the gateway"
    echo "   keeps a command running when its client leaves, as kubelet). No server's \`sleep\` processes are counted."
    echo "   Go server: kubelet-like spdy-exec-server (moby/spdystream), held by the in-repo SPDY client."
    echo
    echo "   Burst: $burst_count concurrent sessions, each printing $burst_bytes (head -c), on a fresh gateway"
    printf '%-40s %12s %12s %12s %14s\n' "generation" "RSS before" "peak" "after" "peak KiB/sess"
    for wire in spdy h2 ws; do
        key="burst.$wire"
        [ -n "${MEM[$key]:-}" ] || continue
        printf '%-40s %12s %12s %12s %14s%s\n' "$(mem_name "$wire")" "$(mem "$key" before_mib)" "$(mem "$key" peak_mib)" \
            "$(mem "$key" after_mib)" "$(mem "$key" peak_per_session_kib)" "$(mem_fail "$key")"
    done
    echo "   peak: VmHWM during the burst; after: VmRSS once it stopped changing for a second after every session ended."
}
